import type { AbortOptions } from '@libp2p/interface'
import type { PaymentPayload, PaymentRequirements, SettleResponse, VerifyResponse } from '@x402/core/types'
import type { Address } from 'viem'
import { type ErrorCodeName, X402Error } from '../errors.ts'

/**
 * Verifies and settles x402 `exact` payments. Two implementations ship: {@link localSettler} (the seller's own wallet
 * submits `transferWithAuthorization`) and {@link facilitatorSettler} (an x402 facilitator's HTTP API).
 */
export interface Settler {
  /** Short name for logs, e.g. `local` or `facilitator`. */
  readonly name: string
  /** Default payee when resources don't name one (the local settler's wallet). */
  readonly payTo?: Address
  /** Full x402 verification: signature, recipient, amount, time window, balance and nonce state on-chain. */
  verify(payload: PaymentPayload, requirements: PaymentRequirements, options?: AbortOptions): Promise<VerifyResponse>
  /**
   * Submits the transfer and waits for its receipt. A receipt that does not arrive in time gives
   * `{ success: false, errorReason: 'settlement_pending', transaction }`.
   */
  settle(payload: PaymentPayload, requirements: PaymentRequirements, options?: AbortOptions): Promise<SettleResponse>
  /**
   * After a restart or a pending settlement: whether the authorization was already used on-chain, and by which
   * confirmed transaction. `undefined` when this settler cannot tell.
   */
  findSettlement?(
    payload: PaymentPayload,
    requirements: PaymentRequirements,
    options?: AbortOptions
  ): Promise<SettleResponse | undefined>
}

/** The x402 reason strings `@x402/evm` and facilitators return, mapped to our protocol codes (spec §5 step 8d). */
const REASONS: Array<[RegExp, ErrorCodeName]> = [
  [/signature/, 'INVALID_SIGNATURE'],
  [/insufficient_(balance|funds)/, 'INSUFFICIENT_FUNDS'],
  [/nonce_already_used|authorization is used or canceled/, 'NONCE_USED'],
  [/valid_before|valid_after|expired/, 'INVALID_VALIDITY_WINDOW'],
  [/recipient_mismatch/, 'PAYEE_WRONG'],
  [/value_mismatch/, 'AMOUNT_WRONG'],
  [/network_mismatch|invalid_network/, 'NETWORK_WRONG'],
  [/asset_not_deployed|token_name_mismatch|token_version_mismatch|eip3009_not_supported/, 'ASSET_WRONG']
]

/** Converts a failed verification into our typed error. */
export function verifyFailure(response: VerifyResponse): X402Error {
  const reason = response.invalidReason ?? 'unknown'
  const code = REASONS.find(([re]) => re.test(reason))?.[1] ?? 'PAYMENT_INVALID'
  const message = response.invalidMessage != null ? `${reason}: ${response.invalidMessage}` : reason
  return X402Error.of(code, message, { reason })
}

/** Converts a failed settlement into our typed error: pending keeps its transaction, everything else failed. */
export function settleFailure(response: SettleResponse): X402Error {
  const reason = response.errorReason ?? 'unknown'
  if (reason === 'settlement_pending') {
    return X402Error.of('SETTLEMENT_PENDING', 'transfer broadcast, receipt not yet seen', {
      transaction: response.transaction,
      network: response.network
    })
  }
  const mapped = REASONS.find(([re]) => re.test(reason))?.[1]
  // Before the transfer confirms nothing moved: report why, keeping nonce reuse distinct from generic failure.
  const code: ErrorCodeName = mapped === 'NONCE_USED' || mapped === 'INSUFFICIENT_FUNDS' ? mapped : 'SETTLEMENT_FAILED'
  return X402Error.of(code, response.errorMessage != null ? `${reason}: ${response.errorMessage}` : reason, { reason })
}
