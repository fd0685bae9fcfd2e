import type { VerifyResponse } from '@x402/core/types'
import { type ErrorCodeName, X402Error } from '../errors.ts'

/**
 * x402 reason strings (`@x402/evm` and facilitators, plus this library's own) mapped to protocol codes
 * (spec §5 step 8e). The first match wins.
 */
const REASONS: Array<[RegExp, ErrorCodeName]> = [
  [/payer_throttled/, 'RATE_LIMITED'],
  [/signature/, 'INVALID_SIGNATURE'],
  [/insufficient_(balance|funds)/, 'INSUFFICIENT_FUNDS'],
  [/nonce_already_used|authorization is used or canceled/, 'NONCE_USED'],
  [/valid_before|valid_after|expired/, 'INVALID_VALIDITY_WINDOW'],
  [/recipient_mismatch/, 'PAYEE_WRONG'],
  [/value_mismatch/, 'AMOUNT_WRONG'],
  [/network_mismatch|invalid_network/, 'NETWORK_WRONG'],
  [/asset_not_deployed|token_name_mismatch|token_version_mismatch|eip3009_not_supported/, 'ASSET_WRONG']
]

/**
 * Text from a chain node or a facilitator, fit to send to a peer: URLs and filesystem paths cut out (an RPC endpoint
 * can carry an API key), one line, at most 200 characters (spec §10.4).
 */
export function peerSafe(text: string): string {
  return text
    .replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '…')
    .replace(/(?:[A-Za-z]:)?(?:[\\/][\w.@-]+){2,}/g, '…')
    .split('\n')[0]!
    .slice(0, 200)
}

/** Converts a failed verification into our typed error (`PAYMENT_INVALID` when no code fits). */
export function verifyFailure(response: VerifyResponse): X402Error {
  const reason = peerSafe(response.invalidReason ?? 'unknown')
  const code = REASONS.find(([re]) => re.test(reason))?.[1] ?? 'PAYMENT_INVALID'
  const message = response.invalidMessage != null ? `${reason}: ${peerSafe(response.invalidMessage)}` : reason
  const details: Record<string, unknown> = { reason }
  const retryAfterMs = (response as { extra?: { retryAfterMs?: unknown } }).extra?.retryAfterMs
  if (typeof retryAfterMs === 'number') details.retryAfterMs = retryAfterMs
  return X402Error.of(code, message, details)
}
