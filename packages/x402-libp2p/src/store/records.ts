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
 * States of a paid call (spec §7.1). With `order: 'before'` (settle, then run):
 * `reserved → settling → settled → done`, or `settled → refunding → refunded` when the handler fails; with
 * `order: 'after'` (x402's HTTP order: run, then settle): `reserved → executed → settling → done`, or
 * `reserved → failed` when the handler fails (nothing is settled).
 * - `reserved`: verified; challenge consumed, `(payer, nonce)` marked used — nothing signed yet;
 * - `executed`: (`after`) the handler succeeded and its result is stored; the settlement has not started;
 * - `settling`: a settlement is in flight (`attempt` holds what was signed or submitted); its outcome is not known;
 * - `settled`: (`before`) the transfer is confirmed on-chain; the handler has not finished;
 * - `refunding`: (`before`) the handler failed after settlement; the refund is owed (`refund.attempt` in flight);
 * - `done`: paid and the result stored (terminal);
 * - `refunded`: the handler failed and the payment went back to the payer in `refund.transaction` (terminal);
 * - `failed`: (`after`) the handler failed; the payment was never settled (terminal);
 * - `void`: proven that no money moved and none can — SETTLEMENT_FAILED (terminal).
 */
export type CallState =
  | 'reserved'
  | 'executed'
  | 'settling'
  | 'settled'
  | 'refunding'
  | 'done'
  | 'refunded'
  | 'failed'
  | 'void'

/**
 * When a paid call's payment settles relative to its handler (spec §7.5): `before` settles then runs the handler,
 * refunding on-chain if it fails; `after` runs the handler first and settles only a success (x402's HTTP order);
 * `deferred` checks the authorization locally, reserves its amount against the payer's credit, runs the handler and
 * answers at once, and settles in the next batch (spec §7.7) — `reserved → executed → settling → done`, the result
 * delivered from `executed` on.
 */
export type SettlementOrder = 'before' | 'after' | 'deferred'

/** Unix ms of a call's authorization `validBefore`: no transfer for it can happen afterwards. */
export function validBeforeMs(record: Pick<CallRecord, 'payment'>): number {
  return Number((record.payment.payload as { authorization: { validBefore: string } }).authorization.validBefore) * 1000
}

/** States after which nothing more happens to a call. */
export const TERMINAL_STATES: ReadonlySet<CallState> = new Set(['done', 'refunded', 'failed', 'void'])

/** Everything the server needs to finish or replay a paid call, persisted before money moves. */
export interface CallRecord {
  peer: string
  correlationId: string
  resource: string
  state: CallState
  /** Fixed when the call is reserved. @default 'before' (records written before the field existed) */
  order?: SettlementOrder
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
  /** The refund owed once `refunding`: its transactions (persisted before broadcast), and the one that paid it. */
  refund?: { attempt: SettlementAttempt; transaction?: Hex }
  /** Stored error once `refunded` or `failed` (EXECUTION_FAILED) or `void` (SETTLEMENT_FAILED). */
  error?: { code: number; message: string; details?: Record<string, unknown> }
  updatedAt: number
}
