import type { ProofOfPayment } from '@betar/reputation'
import type { AbortOptions } from '@libp2p/interface'
import { type Datastore, Key } from 'interface-datastore'
import type { Address, Hash } from 'viem'

/** Where a node keeps its feedback jobs, one key per correlation id. */
export const FEEDBACK_PREFIX = '/betar/feedback'

/**
 * One rating to give on the ERC-8004 Reputation Registry after a paid call, persisted so it is given exactly once even
 * if the node stops, the wallet lacks gas, or the chain is unreachable when the result arrives.
 */
export interface FeedbackJob {
  /** The paid call it rates (its x402 correlation id). */
  correlationId: string
  agentId: string
  agentRegistry: `eip155:${number}:${Address}`
  reputationRegistry: Address
  /** ERC-8004 `starred`, 0–100. */
  value: number
  endpoint: string
  /** The verified settlement (amount in atomic USDC units). */
  proof: ProofOfPayment
  /**
   * Where the feedback file goes: `data-uri` (in the transaction itself: verifiable from chain data alone, by anyone,
   * at any time — the default) or `node` (an `ipfs://` block on this node's Helia, served over bitswap only while it
   * runs).
   */
  storage: FeedbackStorage
  /** The feedback file's `createdAt` (Unix ms), fixed so every attempt writes the same file and hash. */
  createdAt: number
  /**
   * A block no later than the first attempt's transaction: where the check for an earlier attempt's transaction
   * starts. Read before the first send (not at creation, when the chain may be unreachable).
   */
  fromBlock?: string
  /** `pending` until given; `given` once the `NewFeedback` event is on-chain. */
  state: 'pending' | 'given'
  attempts: number
  /** An attempt may have sent a transaction (its answer may have been lost): look on-chain before sending again. */
  sentAt?: number
  /** Why the last attempt failed (for `GET /calls/{id}` and warnings). */
  lastError?: string
  /** Unix ms of the next automatic attempt. */
  nextAttemptAt: number
  result?: { txHash: Hash; feedbackURI: string; feedbackIndex: string }
  updatedAt: number
}

/** Where a feedback file is stored: see {@link FeedbackJob.storage}. */
export type FeedbackStorage = 'node' | 'data-uri'

/** The feedback job of a call, as stored in a node's datastore (no chain access needed). */
export async function readFeedbackJob(
  datastore: Datastore,
  correlationId: string,
  options: AbortOptions = {}
): Promise<FeedbackJob | undefined> {
  const key = new Key(`${FEEDBACK_PREFIX}/${correlationId}`)
  if (!(await datastore.has(key, options))) return undefined
  return JSON.parse(new TextDecoder().decode(await datastore.get(key, options))) as FeedbackJob
}
