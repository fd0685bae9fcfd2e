import type { PaymentPayload, PaymentRequirements, SettleResponse } from '@x402/core/types'
import type { Hex } from 'viem'
import type { SettlementAttempt } from '../settlement/settler.ts'

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

/**
 * States of a paid call (spec §7.1):
 * - `reserved`: verified; challenge consumed, `(payer, nonce)` marked used — nothing signed yet;
 * - `settling`: a settlement is in flight (`attempt` holds what was signed or submitted); its outcome is not known;
 * - `settled`: the transfer is confirmed on-chain; the handler has not finished;
 * - `done`: the result is stored (terminal);
 * - `failed`: paid, but the handler failed — EXECUTION_FAILED (terminal);
 * - `void`: proven that no money moved and none can — SETTLEMENT_FAILED (terminal).
 */
export type CallState = 'reserved' | 'settling' | 'settled' | 'done' | 'failed' | 'void'

/** Unix ms of a call's authorization `validBefore`: no transfer for it can happen afterwards. */
export function validBeforeMs(record: Pick<CallRecord, 'payment'>): number {
  return Number((record.payment.payload as { authorization: { validBefore: string } }).authorization.validBefore) * 1000
}

/** States after which nothing more happens to a call. */
export const TERMINAL_STATES: ReadonlySet<CallState> = new Set(['done', 'failed', 'void'])

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
  /** The settlement in flight: transactions signed (persisted before broadcast) or facilitator hand-overs. */
  attempt?: SettlementAttempt
  /** The confirmed settlement, once `settled`. */
  settlement?: SettleResponse
  /** Unix ms when the settlement was seen confirmed. */
  settledAt?: number
  /** Result body, base64, once `done`. */
  result?: string
  resultContentType?: string
  /** Stored error once `failed` (EXECUTION_FAILED) or `void` (SETTLEMENT_FAILED). */
  error?: { code: number; message: string; details?: Record<string, unknown> }
  updatedAt: number
}
