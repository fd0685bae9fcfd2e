/**
 * Constants of the Go prototype's x402-over-libp2p wire protocol, `/x402/libp2p/1.0.0`, as `asabya/betar` implements
 * it (`internal/p2p/x402stream.go`, `internal/p2p/stream.go`, `internal/marketplace/x402.go` at commit
 * 793ca029c089786053b0b271d253f72e32d4b4c2).
 */

/** The libp2p protocol ID the Go nodes register. */
export const X402_V1_PROTOCOL = '/x402/libp2p/1.0.0'

/** The envelope `version` every Go message carries (`X402LibP2PVersion`). */
export const X402_V1_VERSION = '1.0'

/** The `method` the Go client puts in `x402.request`. The Go server never checks it. */
export const X402_V1_METHOD_EXECUTE = 'execute'

/** `server_nonce` value that marks a pre-signed payment sent without a server challenge (`PreemptiveNonce`). */
export const X402_V1_PREEMPTIVE_NONCE = 'preemptive'

/** `x402_version` the Go client writes into the payment envelope (x402 v2 payloads). */
export const X402_V1_ENVELOPE_X402_VERSION = 2

/** The five frame type strings. */
export const V1_MESSAGE_TYPES = {
  request: 'x402.request',
  paymentRequired: 'x402.payment_required',
  paidRequest: 'x402.paid_request',
  response: 'x402.response',
  error: 'x402.error'
} as const

/** One of the five frame type strings. */
export type V1MessageType = (typeof V1_MESSAGE_TYPES)[keyof typeof V1_MESSAGE_TYPES]

const MESSAGE_TYPE_SET: ReadonlySet<string> = new Set(Object.values(V1_MESSAGE_TYPES))

/** Whether `type` is one of the five known frame types. */
export function isV1MessageType(type: string): type is V1MessageType {
  return MESSAGE_TYPE_SET.has(type)
}

/** Smallest frame type length in bytes (Go rejects `type_len == 0` when reading). */
export const V1_MIN_TYPE_LENGTH = 1

/** Largest frame type length in bytes (`maxMessageTypeLen`). */
export const V1_MAX_TYPE_LENGTH = 128

/** Largest frame data length in bytes Go accepts: 8 MiB (`maxMessageDataLen`). Callers may lower it, never raise it. */
export const V1_MAX_DATA_LENGTH = 8 * 1024 * 1024

/**
 * Deepest nesting of arrays and objects read from a message (Go allows 10,000; its messages nest 4 levels, `extra`
 * being the only free-form value). Checked before parsing: a recursive schema overflowed the stack on a 1,500-deep
 * `extra` and kept ~170 KB of heap per decode (issue 13, fault 2).
 */
export const V1_MAX_JSON_DEPTH = 64

/** Bytes of the fixed-width frame header fields: `uint16` type length plus `uint32` data length. */
export const V1_FRAME_OVERHEAD = 2 + 4

/** The numeric error codes of `x402.error` (`X402ErrorCode`), plus Go's fallback 9999 for unlisted codes. */
export const V1ErrorCode = {
  INVALID_MESSAGE: 1000,
  UNKNOWN_RESOURCE: 1001,
  PAYMENT_REQUIRED: 2000,
  PAYMENT_INVALID: 2001,
  PAYMENT_NONCE_MISMATCH: 2002,
  PAYMENT_NONCE_EXPIRED: 2003,
  PAYMENT_NONCE_USED: 2004,
  PAYMENT_AMOUNT_WRONG: 2005,
  SETTLEMENT_FAILED: 2007,
  EXECUTION_FAILED: 3000,
  UNKNOWN_ERROR: 9999
} as const

/** One of the error code names. */
export type V1ErrorName = keyof typeof V1ErrorCode

/** The name and retryable flag Go's `NewX402Error` assigns to a code. */
export interface V1ErrorInfo {
  readonly name: V1ErrorName
  readonly retryable: boolean
}

/** Go's `NewX402Error` table. Codes 2000, 2003 and 2007 are the only retryable ones. */
export const V1_ERROR_INFO: Readonly<Record<number, V1ErrorInfo>> = {
  1000: { name: 'INVALID_MESSAGE', retryable: false },
  1001: { name: 'UNKNOWN_RESOURCE', retryable: false },
  2000: { name: 'PAYMENT_REQUIRED', retryable: true },
  2001: { name: 'PAYMENT_INVALID', retryable: false },
  2002: { name: 'PAYMENT_NONCE_MISMATCH', retryable: false },
  2003: { name: 'PAYMENT_NONCE_EXPIRED', retryable: true },
  2004: { name: 'PAYMENT_NONCE_USED', retryable: false },
  2005: { name: 'PAYMENT_AMOUNT_WRONG', retryable: false },
  2007: { name: 'SETTLEMENT_FAILED', retryable: true },
  3000: { name: 'EXECUTION_FAILED', retryable: false }
}

/**
 * The name and retryable flag Go assigns to `code`: any code outside the table (9999 included) becomes
 * `UNKNOWN_ERROR`, not retryable, exactly like the `default:` branch of `NewX402Error`.
 */
export function v1ErrorInfo(code: number): V1ErrorInfo {
  return V1_ERROR_INFO[code] ?? { name: 'UNKNOWN_ERROR', retryable: false }
}
