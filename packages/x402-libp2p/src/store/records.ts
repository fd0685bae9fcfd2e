import type { PaymentPayload, PaymentRequirements, SettleResponse } from '@x402/core/types'
import type { Hex } from 'viem'

/** A challenge issued in a PAYMENT_REQUIRED (spec §4.2), bound to peer, correlation id, resource and requirement. */
export interface ChallengeRecord {
  peer: string
  correlationId: string
  resource: string
  /** keccak256 of the canonical requirement offered. */
  requirementsHash: Hex
  /** The 32-byte challenge, the EIP-3009 nonce the buyer must sign. */
  nonce: Hex
  /** Unix seconds. */
  expiresAt: number
  consumed: boolean
}

/** States of a paid call (spec §7). */
export type CallState = 'reserved' | 'settling' | 'settled' | 'done' | 'failed'

/** Everything the server needs to finish or replay a paid call, persisted before money moves. */
export interface CallRecord {
  peer: string
  correlationId: string
  resource: string
  state: CallState
  payment: PaymentPayload
  /** The payment's signature: a re-ask must present the same payment. */
  signature: Hex
  requirements: PaymentRequirements
  /** Request body, base64. */
  body: string
  contentType: string
  settlement?: SettleResponse
  /** Result body, base64, once `done`. */
  result?: string
  resultContentType?: string
  /** Stored error once `failed` (EXECUTION_FAILED after payment, SETTLEMENT_FAILED before). */
  error?: { code: number; message: string }
  updatedAt: number
}
