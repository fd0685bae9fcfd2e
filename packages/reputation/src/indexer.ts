import { identityRegistryAbi, reputationRegistryAbi } from '@betar/contracts'
import { type Address, getAddress, type PublicClient, zeroAddress } from 'viem'
import { toRegistryCallError } from './errors.ts'
import type { IndexStore, IndexWrite } from './index-store.ts'

/** Options of {@link Indexer}. */
export interface IndexerOptions {
  publicClient: PublicClient
  store: IndexStore
  identityRegistry: Address
  reputationRegistry: Address
  /** First block to scan on the very first sync (e.g. the registries' deployment block). @default 0n */
  fromBlock?: bigint
  /** Largest `eth_getLogs` range per request. @default 2000n */
  maxBlockRange?: bigint
  /** Blocks behind the head to stay (re-org safety). @default 0n */
  confirmations?: bigint
}

/** What one {@link Indexer.sync} did. */
export interface SyncResult {
  /** First block scanned, or `undefined` when already up to date. */
  fromBlock: bigint | undefined
  /** The cursor after the sync. */
  toBlock: bigint | undefined
  feedback: number
  revocations: number
  identityEvents: number
}

/**
 * Incrementally indexes the Reputation Registry's `NewFeedback`/`FeedbackRevoked` events and the Identity Registry's
 * `Transfer`/`Approval`/`ApprovalForAll`/`MetadataSet(agentWallet)` events into an {@link IndexStore}, from the last
 * indexed block, in bounded ranges. Each range is committed atomically with the cursor, so an interrupted sync
 * resumes where it stopped. Concurrent `sync` calls share one run.
 */
export class Indexer {
  readonly #o: IndexerOptions
  #running: Promise<SyncResult> | undefined

  constructor(options: IndexerOptions) {
    this.#o = options
  }

  /** Brings the index up to the chain head (minus confirmations). */
  sync(options: { signal?: AbortSignal } = {}): Promise<SyncResult> {
    this.#running ??= this.#sync(options).finally(() => {
      this.#running = undefined
    })
    return this.#running
  }

  async #sync(options: { signal?: AbortSignal }): Promise<SyncResult> {
    const { publicClient, store, identityRegistry, reputationRegistry } = this.#o
    const range = this.#o.maxBlockRange ?? 2000n
    if (range < 1n) throw new RangeError('maxBlockRange must be ≥ 1')
    const signal = options.signal
    const head = (await publicClient.getBlockNumber({ cacheTime: 0 })) - (this.#o.confirmations ?? 0n)
    const cursor = await store.cursor(signal != null ? { signal } : {})
    const start = cursor != null ? cursor + 1n : (this.#o.fromBlock ?? 0n)
    const result: SyncResult = { fromBlock: undefined, toBlock: cursor, feedback: 0, revocations: 0, identityEvents: 0 }
    if (start > head) return result
    result.fromBlock = start
    for (let from = start; from <= head; from += range) {
      signal?.throwIfAborted()
      const to = from + range - 1n < head ? from + range - 1n : head
      const [repLogs, idLogs] = await Promise.all([
        publicClient.getContractEvents({
          address: reputationRegistry,
          abi: reputationRegistryAbi,
          fromBlock: from,
          toBlock: to,
          strict: true
        }),
        publicClient.getContractEvents({
          address: identityRegistry,
          abi: identityRegistryAbi,
          fromBlock: from,
          toBlock: to,
          strict: true
        })
      ]).catch((error: unknown) => {
        throw toRegistryCallError(error, 'registry events')
      })
      const writes: IndexWrite[] = []
      const timestamps = new Map<bigint, number>()
      for (const log of repLogs) {
        if (log.eventName === 'NewFeedback') {
          let timestamp = timestamps.get(log.blockNumber)
          if (timestamp == null) {
            const block = await publicClient.getBlock({ blockNumber: log.blockNumber })
            timestamp = Number(block.timestamp)
            timestamps.set(log.blockNumber, timestamp)
          }
          const a = log.args
          writes.push({
            type: 'feedback',
            record: {
              agentId: a.agentId,
              clientAddress: getAddress(a.clientAddress),
              feedbackIndex: a.feedbackIndex,
              value: a.value,
              valueDecimals: a.valueDecimals,
              tag1: a.tag1,
              tag2: a.tag2,
              endpoint: a.endpoint,
              feedbackURI: a.feedbackURI,
              feedbackHash: a.feedbackHash,
              blockNumber: log.blockNumber,
              logIndex: log.logIndex,
              transactionHash: log.transactionHash,
              timestamp
            }
          })
          result.feedback++
        } else if (log.eventName === 'FeedbackRevoked') {
          writes.push({
            type: 'revoked',
            agentId: log.args.agentId,
            clientAddress: getAddress(log.args.clientAddress),
            feedbackIndex: log.args.feedbackIndex,
            blockNumber: log.blockNumber
          })
          result.revocations++
        }
      }
      for (const log of idLogs) {
        const blockNumber = log.blockNumber
        if (log.eventName === 'Transfer' && log.args.to !== zeroAddress) {
          writes.push({ type: 'party', agentId: log.args.tokenId, role: 'owner', address: log.args.to, blockNumber })
        } else if (log.eventName === 'Approval' && log.args.approved !== zeroAddress) {
          writes.push({
            type: 'party',
            agentId: log.args.tokenId,
            role: 'approved',
            address: log.args.approved,
            blockNumber
          })
        } else if (log.eventName === 'ApprovalForAll' && log.args.approved) {
          writes.push({ type: 'operator', owner: log.args.owner, operator: log.args.operator, blockNumber })
        } else if (
          log.eventName === 'MetadataSet' &&
          log.args.metadataKey === 'agentWallet' &&
          log.args.metadataValue.length === 42
        ) {
          const wallet = getAddress(log.args.metadataValue)
          if (wallet !== zeroAddress) {
            writes.push({ type: 'party', agentId: log.args.agentId, role: 'wallet', address: wallet, blockNumber })
          }
        } else {
          continue
        }
        result.identityEvents++
      }
      await store.commit(writes, to, signal != null ? { signal } : {})
      result.toBlock = to
    }
    return result
  }
}
