import { identityRegistryAbi } from '@betar/contracts'
import type { Datastore } from 'interface-datastore'
import { type Address, erc20Abi, getAddress, type Hash, type PublicClient, zeroAddress } from 'viem'
import { type LoadUri, withDataUriSupport } from './data-uri.ts'
import { FeedbackLoadError, toRegistryCallError } from './errors.ts'
import { IndexStore } from './index-store.ts'
import { Indexer, type SyncResult } from './indexer.ts'
import { type PaymentReceipt, ProofCache } from './proof-cache.ts'
import type { FeedbackRecord } from './records.ts'
import { DEFAULT_HALF_LIFE_SECONDS, DEFAULT_PRIORS, type Prior, type TagSummary } from './score.ts'
import { type ScoredFeedback, summarize } from './summarize.ts'
import { type PaymentVerification, type RejectionReason, verifyPayment } from './verify.ts'

const DEFAULT_RETRY_UNLOADABLE_MS = 10 * 60_000

/** Per-file load timeout (ms): one offline holder costs at most this, and files load in parallel. */
const DEFAULT_LOAD_TIMEOUT_MS = 5_000
/** Feedback verified at once (file loads and receipt reads). */
const VERIFY_CONCURRENCY = 16

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
   * How long the feedback files of one `feedback`/`summary`/`report` call may take to load, together (ms, from the
   * first load): files not loaded by then leave their feedback `unverified` — files held only by peers that are offline
   * (or by nobody) must not stall scoring, however many there are. @default 5000
   */
  loadTimeoutMs?: number
  /**
   * A feedback file that failed to load is not tried again for this long (ms), persisted in `datastore`: it stays
   * `unverified` meanwhile, at no wait. @default 600000 (10 minutes)
   */
  retryUnloadableMs?: number
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

/** Options of {@link Reputation.feedback}. */
export interface FeedbackOptions {
  /** Only these `tag1` values. @default every tag seen */
  tags?: readonly string[]
  /** Skip the incremental sync before scoring. @default false */
  skipSync?: boolean
  /** Aborts the whole call (sync, chain reads, every file load). */
  signal?: AbortSignal
}

/** Options of {@link Reputation.summary} and {@link Reputation.report}. */
export interface SummaryOptions extends FeedbackOptions {
  /** Scoring time in milliseconds. @default options.now() */
  now?: number
}

/** Both views of one scoring pass: see {@link Reputation.report}. */
export interface ReputationReport {
  /** Scores per `tag1`, with the unverified entries counted apart. */
  summary: Record<string, TagSummary>
  /** Every feedback with its verdict, in chain order. */
  feedback: ScoredFeedback[]
}

/** The payment-backed reputation service of {@link createReputation}. */
export interface Reputation {
  /** Indexes new events since the last sync. */
  sync(options?: { signal?: AbortSignal }): Promise<SyncResult>
  /**
   * Every feedback for `agentId` with its verdict (after a sync): `counted`, `rejected` with a `reason`, or
   * `unverified` (its file could not be loaded now). Rejects when `signal` aborts or the chain cannot be read.
   */
  feedback(agentId: bigint, options?: FeedbackOptions): Promise<ScoredFeedback[]>
  /** Scores per `tag1` (after a sync). Rejects like {@link Reputation.feedback}. */
  summary(agentId: bigint, options?: SummaryOptions): Promise<Record<string, TagSummary>>
  /** The summary and the feedback behind it from one pass (one load per file). Rejects like `feedback`. */
  report(agentId: bigint, options?: SummaryOptions): Promise<ReputationReport>
}

/**
 * Creates a payment-backed ERC-8004 reputation scorer over an incremental, persisted event index.
 * Verified evidence (feedback files by `feedbackHash`, payment receipts) is kept in the same datastore, so a feedback
 * checked once never needs its file's holder again. See `docs/reputation.md` for the formula.
 */
export function createReputation(options: ReputationOptions): Reputation {
  const { publicClient, identityRegistry, reputationRegistry, asset } = options
  const loadAny = withDataUriSupport(options.load)
  const loadTimeoutMs = options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS
  const retryUnloadableMs = options.retryUnloadableMs ?? DEFAULT_RETRY_UNLOADABLE_MS
  /**
   * The loader of one `feedback()` call: every file shares one deadline (`loadTimeoutMs` from the call's first load),
   * so however many files nobody serves, a call waits at most that long; a URI that failed is not tried again for
   * `retryUnloadableMs` (persisted), so later calls do not wait at all.
   */
  const loaderFor = (cache: ProofCache) => {
    let deadline: AbortSignal | undefined
    const load: typeof loadAny = async (uri, opts) => {
      if (uri.startsWith('data:')) return loadAny(uri, opts)
      const until = await cache.unloadableUntil(uri, opts)
      if (until != null && until > Date.now())
        throw new FeedbackLoadError(`${uri} did not load recently; retried later`)
      deadline ??= AbortSignal.timeout(loadTimeoutMs)
      try {
        return await loadAny(uri, {
          signal: opts?.signal != null ? AbortSignal.any([opts.signal, deadline]) : deadline
        })
      } catch (err) {
        opts?.signal?.throwIfAborted()
        await cache.putUnloadable(uri, Date.now() + retryUnloadableMs).catch(() => {})
        throw err
      }
    }
    return load
  }
  const receipts = new Map<Hash, Promise<PaymentReceipt | undefined>>()
  let setup:
    | Promise<{ chainId: number; indexer: Indexer; store: IndexStore; cache: ProofCache; assetDecimals: number }>
    | undefined

  const init = () => {
    setup ??= (async () => {
      const chainId = publicClient.chain?.id ?? (await publicClient.getChainId())
      const scope = { chainId, reputationRegistry, identityRegistry }
      const store = new IndexStore(options.datastore, scope)
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
        (await publicClient
          .readContract({ address: asset, abi: erc20Abi, functionName: 'decimals' })
          .catch((error: unknown) => {
            throw toRegistryCallError(error, 'decimals')
          }))
      return { chainId, indexer, store, cache: new ProofCache(options.datastore, scope), assetDecimals }
    })().catch((error: unknown) => {
      setup = undefined
      throw error
    })
    return setup
  }

  const sync = async (opts: { signal?: AbortSignal } = {}) => (await init()).indexer.sync(opts)

  const feedback = async (agentId: bigint, opts: FeedbackOptions = {}): Promise<ScoredFeedback[]> => {
    const signalOpt = opts.signal != null ? { signal: opts.signal } : {}
    const { chainId, store, indexer, cache } = await init()
    if (opts.skipSync !== true) await indexer.sync(signalOpt)
    const [all, parties, owner, wallet] = await Promise.all([
      store.feedback(agentId, signalOpt),
      store.parties(agentId, signalOpt),
      publicClient
        .readContract({
          address: identityRegistry,
          abi: identityRegistryAbi,
          functionName: 'ownerOf',
          args: [agentId]
        })
        .catch((error: unknown) => {
          throw toRegistryCallError(error, 'ownerOf')
        }),
      publicClient
        .readContract({
          address: identityRegistry,
          abi: identityRegistryAbi,
          functionName: 'getAgentWallet',
          args: [agentId]
        })
        .catch((error: unknown) => {
          throw toRegistryCallError(error, 'getAgentWallet')
        })
    ])
    const excluded = new Set<Address>([...parties.keys(), getAddress(owner)])
    if (wallet !== zeroAddress) excluded.add(getAddress(wallet))
    const payees = [getAddress(wallet !== zeroAddress ? wallet : owner)]
    const tags = opts.tags != null ? new Set(opts.tags) : undefined
    const records = all.filter((r) => tags == null || tags.has(r.tag1))
    const ctx = {
      publicClient,
      load: loaderFor(cache),
      chainId,
      identityRegistry,
      asset,
      payees,
      minPayment: options.minPayment ?? 1n,
      receipts,
      cache,
      ...signalOpt
    }
    // Files load in parallel, so offline holders cost about one loadTimeoutMs in all, not one each.
    const verdicts = await mapLimit(
      records,
      VERIFY_CONCURRENCY,
      (record): PaymentVerification | Promise<PaymentVerification> => {
        if (record.revoked) return { ok: false, reason: 'revoked' }
        if (excluded.has(record.clientAddress)) return { ok: false, reason: 'excluded-address' }
        return verifyPayment(record, ctx)
      }
    )
    return judge(records, verdicts)
  }

  const report = async (agentId: bigint, opts: SummaryOptions = {}): Promise<ReputationReport> => {
    const scored = await feedback(agentId, opts)
    const { assetDecimals } = await init()
    const summary = summarize(scored, {
      ...(opts.tags != null ? { tags: opts.tags } : {}),
      now: Math.floor((opts.now ?? (options.now ?? Date.now)()) / 1000),
      halfLifeSeconds: options.halfLifeSeconds ?? DEFAULT_HALF_LIFE_SECONDS,
      assetDecimals,
      priors: options.priors ?? DEFAULT_PRIORS
    })
    return { summary, feedback: scored }
  }

  const summary = async (agentId: bigint, opts: SummaryOptions = {}) => (await report(agentId, opts)).summary

  return { sync, feedback, summary, report }
}

/**
 * Turns the verdicts (in chain order) into scored feedback: failed checks are `rejected`, unloadable files
 * `unverified`; among the verified, the earliest feedback citing a payment per `tag1` wins and later ones are
 * `reused-payment`.
 */
function judge(records: readonly FeedbackRecord[], verdicts: readonly PaymentVerification[]): ScoredFeedback[] {
  const usedTx = new Set<string>()
  return records.map((record, i): ScoredFeedback => {
    const reject = (reason: RejectionReason, paymentTx?: Hash): ScoredFeedback => ({
      ...record,
      counted: false,
      status: reason === 'unloadable' ? 'unverified' : 'rejected',
      reason,
      paid: 0n,
      ...(paymentTx != null ? { paymentTx } : {})
    })
    const v = verdicts[i]
    if (v == null || !v.ok) return reject(v?.reason ?? 'unloadable')
    const txKey = `${record.tag1}\n${v.txHash.toLowerCase()}`
    if (usedTx.has(txKey)) return reject('reused-payment', v.txHash)
    usedTx.add(txKey)
    return { ...record, counted: true, status: 'counted', paid: v.paid, paymentTx: v.txHash }
  })
}

/** Maps `items` through `fn` with at most `limit` calls in flight; results keep the input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R> | R): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}
