import { identityRegistryAbi } from '@betar/contracts'
import type { Datastore } from 'interface-datastore'
import {
  type Address,
  erc20Abi,
  getAddress,
  type Hash,
  type PublicClient,
  type TransactionReceipt,
  zeroAddress
} from 'viem'
import { type LoadUri, withDataUriSupport } from './data-uri.ts'
import { IndexStore } from './index-store.ts'
import { Indexer, type SyncResult } from './indexer.ts'
import type { FeedbackRecord } from './records.ts'
import {
  type CountedFeedback,
  DEFAULT_HALF_LIFE_SECONDS,
  DEFAULT_PRIORS,
  type Prior,
  scoreTag,
  type TagSummary
} from './score.ts'
import { type RejectionReason, verifyPayment } from './verify.ts'

const DEFAULT_LOAD_TIMEOUT_MS = 5_000

/** Options of {@link createReputation}. */
export interface ReputationOptions {
  publicClient: PublicClient
  identityRegistry: Address
  reputationRegistry: Address
  /** The payment token feedback must be paid in (e.g. USDC). */
  asset: Address
  /** Where the event index lives (the node's LevelDB; a `MemoryDatastore` in tests). */
  datastore: Datastore
  /** Loads non-`data:` feedback URIs (e.g. `ipfs://` via Helia). `data:` URIs are always decoded locally. */
  load?: LoadUri
  /**
   * How long one feedback file may take to load (ms) before that feedback is rejected as `unloadable` — a file held
   * only by a peer that is offline must not stall scoring. @default 5000
   */
  loadTimeoutMs?: number
  /** Clock in milliseconds, used when `summary` gets no `now`. @default Date.now */
  now?: () => number
  /** Smallest payment (base units) that makes feedback count. @default 1n */
  minPayment?: bigint
  /** Time-decay half-life. @default 30 days */
  halfLifeSeconds?: number
  /** Priors per `tag1`; tags without one get no shrinkage. @default {@link DEFAULT_PRIORS} */
  priors?: Readonly<Record<string, Prior>>
  /** The asset's decimals; read from the token when omitted. */
  assetDecimals?: number
  /** First block of the first sync. @default 0n */
  fromBlock?: bigint
  /** @default 2000n */
  maxBlockRange?: bigint
  /** @default 0n */
  confirmations?: bigint
}

/** One indexed feedback with the scorer's verdict. */
export interface ScoredFeedback extends FeedbackRecord {
  /** Whether it counts toward the score. */
  counted: boolean
  /** Why it does not count. */
  reason?: RejectionReason
  /** Verified payment in base units (0 when not verified). */
  paid: bigint
  /** The proof's transaction, when the file could be read. */
  paymentTx?: Hash
}

/** Options of {@link Reputation.summary}. */
export interface SummaryOptions {
  /** Only these `tag1` values. @default every tag seen */
  tags?: readonly string[]
  /** Scoring time in milliseconds. @default options.now() */
  now?: number
  /** Skip the incremental sync before scoring. @default false */
  skipSync?: boolean
  signal?: AbortSignal
}

/** The payment-backed reputation service of {@link createReputation}. */
export interface Reputation {
  /** Indexes new events since the last sync. */
  sync(options?: { signal?: AbortSignal }): Promise<SyncResult>
  /** Every feedback for `agentId` with its verdict (after a sync). */
  feedback(agentId: bigint, options?: Omit<SummaryOptions, 'now'>): Promise<ScoredFeedback[]>
  /** Scores per `tag1` (after a sync). */
  summary(agentId: bigint, options?: SummaryOptions): Promise<Record<string, TagSummary>>
}

/**
 * Creates a payment-backed ERC-8004 reputation scorer over an incremental, persisted event index.
 * See `docs/reputation.md` for the formula.
 */
export function createReputation(options: ReputationOptions): Reputation {
  const { publicClient, identityRegistry, reputationRegistry, asset } = options
  const loadAny = withDataUriSupport(options.load)
  const loadTimeoutMs = options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS
  const load: typeof loadAny = (uri, opts) => {
    const timeout = AbortSignal.timeout(loadTimeoutMs)
    return loadAny(uri, { signal: opts?.signal != null ? AbortSignal.any([opts.signal, timeout]) : timeout })
  }
  const receipts = new Map<Hash, Promise<TransactionReceipt | undefined>>()
  let setup: Promise<{ chainId: number; indexer: Indexer; store: IndexStore; assetDecimals: number }> | undefined

  const init = () => {
    setup ??= (async () => {
      const chainId = publicClient.chain?.id ?? (await publicClient.getChainId())
      const store = new IndexStore(options.datastore, { chainId, reputationRegistry, identityRegistry })
      const indexer = new Indexer({
        publicClient,
        store,
        identityRegistry,
        reputationRegistry,
        ...(options.fromBlock != null ? { fromBlock: options.fromBlock } : {}),
        ...(options.maxBlockRange != null ? { maxBlockRange: options.maxBlockRange } : {}),
        ...(options.confirmations != null ? { confirmations: options.confirmations } : {})
      })
      const assetDecimals =
        options.assetDecimals ??
        (await publicClient.readContract({ address: asset, abi: erc20Abi, functionName: 'decimals' }))
      return { chainId, indexer, store, assetDecimals }
    })().catch((error: unknown) => {
      setup = undefined
      throw error
    })
    return setup
  }

  const sync = async (opts: { signal?: AbortSignal } = {}) => (await init()).indexer.sync(opts)

  const feedback = async (agentId: bigint, opts: Omit<SummaryOptions, 'now'> = {}): Promise<ScoredFeedback[]> => {
    const signalOpt = opts.signal != null ? { signal: opts.signal } : {}
    const { chainId, store, indexer } = await init()
    if (opts.skipSync !== true) await indexer.sync(signalOpt)
    const [records, parties, owner, wallet] = await Promise.all([
      store.feedback(agentId, signalOpt),
      store.parties(agentId, signalOpt),
      publicClient.readContract({
        address: identityRegistry,
        abi: identityRegistryAbi,
        functionName: 'ownerOf',
        args: [agentId]
      }),
      publicClient.readContract({
        address: identityRegistry,
        abi: identityRegistryAbi,
        functionName: 'getAgentWallet',
        args: [agentId]
      })
    ])
    const excluded = new Set<Address>([...parties.keys(), getAddress(owner)])
    if (wallet !== zeroAddress) excluded.add(getAddress(wallet))
    const payees = [getAddress(wallet !== zeroAddress ? wallet : owner)]
    const tags = opts.tags != null ? new Set(opts.tags) : undefined
    const out: ScoredFeedback[] = []
    const usedTx = new Set<string>()
    for (const record of records) {
      if (tags != null && !tags.has(record.tag1)) continue
      const reject = (reason: RejectionReason, paymentTx?: Hash): ScoredFeedback => ({
        ...record,
        counted: false,
        reason,
        paid: 0n,
        ...(paymentTx != null ? { paymentTx } : {})
      })
      if (record.revoked) {
        out.push(reject('revoked'))
        continue
      }
      if (excluded.has(record.clientAddress)) {
        out.push(reject('excluded-address'))
        continue
      }
      const v = await verifyPayment(record, {
        publicClient,
        load,
        chainId,
        identityRegistry,
        asset,
        payees,
        minPayment: options.minPayment ?? 1n,
        receipts,
        ...signalOpt
      })
      if (!v.ok) {
        out.push(reject(v.reason))
        continue
      }
      const txKey = `${record.tag1}\n${v.txHash.toLowerCase()}`
      if (usedTx.has(txKey)) {
        out.push(reject('reused-payment', v.txHash))
        continue
      }
      usedTx.add(txKey)
      out.push({ ...record, counted: true, paid: v.paid, paymentTx: v.txHash })
    }
    return out
  }

  const summary = async (agentId: bigint, opts: SummaryOptions = {}): Promise<Record<string, TagSummary>> => {
    const scored = await feedback(agentId, opts)
    const { assetDecimals } = await init()
    const now = Math.floor((opts.now ?? (options.now ?? Date.now)()) / 1000)
    const byTag = new Map<string, CountedFeedback[]>()
    for (const tag of opts.tags ?? []) byTag.set(tag, [])
    for (const f of scored) {
      const list = byTag.get(f.tag1) ?? []
      if (f.counted) {
        list.push({
          clientAddress: f.clientAddress,
          value: Number(f.value) / 10 ** f.valueDecimals,
          paid: f.paid,
          timestamp: f.timestamp
        })
      }
      byTag.set(f.tag1, list)
    }
    const priors = options.priors ?? DEFAULT_PRIORS
    const result: Record<string, TagSummary> = {}
    for (const tag of [...byTag.keys()].sort()) {
      result[tag] = scoreTag(byTag.get(tag) ?? [], {
        now,
        halfLifeSeconds: options.halfLifeSeconds ?? DEFAULT_HALF_LIFE_SECONDS,
        assetDecimals,
        prior: priors[tag] ?? { mean: 0, weight: 0 }
      })
    }
    return result
  }

  return { sync, feedback, summary }
}
