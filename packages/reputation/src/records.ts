import type { Address, Hash, Hex } from 'viem'

/** One `NewFeedback` event as indexed (plus its block timestamp and revocation state). */
export interface FeedbackRecord {
  agentId: bigint
  clientAddress: Address
  /** 1-based per-(client, agent) index. */
  feedbackIndex: bigint
  value: bigint
  valueDecimals: number
  tag1: string
  tag2: string
  endpoint: string
  feedbackURI: string
  feedbackHash: Hex
  blockNumber: bigint
  logIndex: number
  transactionHash: Hash
  /** Block timestamp, unix seconds. */
  timestamp: number
  /** Whether a `FeedbackRevoked` event for it has been indexed. */
  revoked: boolean
}

/** Roles an address has held for an agent, as seen in the Identity Registry's events. */
export type PartyRole = 'owner' | 'approved' | 'wallet' | 'operator'
