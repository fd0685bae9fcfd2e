import type { SettleResponse } from '@x402/core/types'

/**
 * Protocol error codes (spec §8). Codes 1000–3000 keep the numbers of the Betar Go prototype, whose catch-all 2007 is
 * split here into distinct codes.
 */
export const ErrorCode = {
  INVALID_MESSAGE: 1000,
  UNKNOWN_RESOURCE: 1001,
  INVALID_REQUEST: 1002,
  PAYMENT_REQUIRED: 2000,
  PAYMENT_INVALID: 2001,
  NONCE_MISMATCH: 2002,
  NONCE_EXPIRED: 2003,
  NONCE_USED: 2004,
  AMOUNT_WRONG: 2005,
  INVALID_SIGNATURE: 2006,
  SETTLEMENT_FAILED: 2007,
  PAYEE_WRONG: 2008,
  ASSET_WRONG: 2009,
  NETWORK_WRONG: 2010,
  INSUFFICIENT_FUNDS: 2011,
  SETTLEMENT_PENDING: 2012,
  INVALID_VALIDITY_WINDOW: 2013,
  EXECUTION_FAILED: 3000,
  RATE_LIMITED: 4000,
  SERVICE_UNAVAILABLE: 5000
} as const

export type ErrorCodeName = keyof typeof ErrorCode
export type ErrorCodeNumber = (typeof ErrorCode)[ErrorCodeName]

/** Whether a client may retry after each error (spec §8). */
export const RETRYABLE: Readonly<Record<ErrorCodeName, boolean>> = {
  INVALID_MESSAGE: false,
  UNKNOWN_RESOURCE: false,
  INVALID_REQUEST: false,
  PAYMENT_REQUIRED: true,
  PAYMENT_INVALID: false,
  NONCE_MISMATCH: false,
  NONCE_EXPIRED: true,
  NONCE_USED: false,
  AMOUNT_WRONG: false,
  INVALID_SIGNATURE: false,
  SETTLEMENT_FAILED: false,
  PAYEE_WRONG: false,
  ASSET_WRONG: false,
  NETWORK_WRONG: false,
  INSUFFICIENT_FUNDS: false,
  SETTLEMENT_PENDING: true,
  INVALID_VALIDITY_WINDOW: false,
  EXECUTION_FAILED: false,
  RATE_LIMITED: true,
  SERVICE_UNAVAILABLE: true
}

const NAMES = new Map<number, ErrorCodeName>(
  Object.entries(ErrorCode).map(([name, code]) => [code, name as ErrorCodeName])
)

/** The name of a numeric code, or `undefined` for a code this version does not know. */
export function errorCodeName(code: number): ErrorCodeName | undefined {
  return NAMES.get(code)
}

/** Extra data some errors carry, e.g. the transaction of a pending settlement. */
export type ErrorDetails = Record<string, unknown>

/**
 * An x402 protocol error: raised by a server (and sent as an ERROR frame) or received by a client.
 * `name` is stable (`X402Error`); `codeName` and `code` say which protocol error it is.
 */
export class X402Error extends Error {
  static override name = 'X402Error'
  /** Numeric protocol code (spec §8). */
  readonly code: number
  /** Symbolic protocol code, e.g. `NONCE_USED`; `UNKNOWN` for a code this version does not know. */
  readonly codeName: ErrorCodeName | 'UNKNOWN'
  readonly retryable: boolean
  readonly details: ErrorDetails | undefined

  constructor(
    code: number,
    message: string,
    options: { retryable?: boolean; details?: ErrorDetails; cause?: unknown } = {}
  ) {
    super(message, { cause: options.cause })
    this.name = 'X402Error'
    this.code = code
    this.codeName = errorCodeName(code) ?? 'UNKNOWN'
    this.retryable = options.retryable ?? (this.codeName === 'UNKNOWN' ? false : RETRYABLE[this.codeName])
    this.details = options.details
  }

  /** Shorthand for a known code. */
  static of(name: ErrorCodeName, message: string, details?: ErrorDetails, cause?: unknown): X402Error {
    return new X402Error(ErrorCode[name], message, {
      ...(details != null ? { details } : {}),
      ...(cause != null ? { cause } : {})
    })
  }
}

/** The client refused to sign: the server's requirements break what the caller approved (spec §6). */
export class PaymentNotApprovedError extends Error {
  static override name = 'PaymentNotApprovedError'
  /** One line per violated rule, for each requirement the server offered. */
  readonly violations: string[]

  constructor(violations: string[]) {
    super(`payment not approved: ${violations.join('; ')}`)
    this.name = 'PaymentNotApprovedError'
    this.violations = violations
  }
}

/** The payment would exceed the client's spending budget. */
export class BudgetExceededError extends Error {
  static override name = 'BudgetExceededError'

  constructor(message = 'spending budget exceeded') {
    super(message)
    this.name = 'BudgetExceededError'
  }
}

/** The remote peer broke the protocol (bad frame, wrong message order, oversized or unparsable data). */
export class ProtocolViolationError extends Error {
  static override name = 'ProtocolViolationError'

  constructor(message = 'protocol violation', options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ProtocolViolationError'
  }
}

/**
 * A session (spec §2.1) ended — closed or reset by the seller, or its connection went away — before an exchange on it
 * got its answer: like a broken stream, the call is re-asked (paid) or opened again (not yet paid).
 */
export class SessionClosedError extends Error {
  static override name = 'SessionClosedError'

  constructor(message = 'the session closed', options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SessionClosedError'
  }
}

/** Nothing registered under this resource name when registering, or the config is unusable. */
export class InvalidResourceError extends Error {
  static override name = 'InvalidResourceError'

  constructor(message = 'invalid resource') {
    super(message)
    this.name = 'InvalidResourceError'
  }
}

/**
 * The seller refused a paid call (its error is the `cause`), but the buyer's own chain reader shows the payment's
 * transfer to the payee on-chain: the money moved. `settlement` names the transaction. The signed payment is kept, so
 * calling again with the same `correlationId` re-asks for the result.
 */
export class PaymentTakenError extends Error {
  static override name = 'PaymentTakenError'
  readonly correlationId: string
  readonly settlement: SettleResponse

  constructor(correlationId: string, settlement: SettleResponse, options?: { cause?: unknown }) {
    super(
      `paid call ${correlationId}: the seller refused it, but its transfer ${settlement.transaction} is on-chain`,
      options
    )
    this.name = 'PaymentTakenError'
    this.correlationId = correlationId
    this.settlement = settlement
  }
}

/**
 * A paid call was signed and sent, but no outcome could be read after every re-ask. The payment may have settled:
 * call again with the same `correlationId` to re-ask (the client re-sends the same payment; it never signs twice).
 */
export class PaymentInterruptedError extends Error {
  static override name = 'PaymentInterruptedError'
  readonly correlationId: string

  constructor(correlationId: string, options?: { cause?: unknown }) {
    super(`paid call ${correlationId} interrupted; re-ask with the same correlationId`, options)
    this.name = 'PaymentInterruptedError'
    this.correlationId = correlationId
  }
}

/**
 * Thrown by a resource's `validate` to refuse a request before any payment (spec §5 step 4): the buyer receives
 * INVALID_REQUEST (1002) with this message — write it for the buyer; nothing local belongs in it.
 */
export class InvalidRequestError extends Error {
  static override name = 'InvalidRequestError'

  constructor(message = 'invalid request') {
    super(message)
    this.name = 'InvalidRequestError'
  }
}

/** The refund of a paid call whose handler failed, as the buyer sees it (spec §7.5). */
export interface RefundInfo {
  /** The transaction of the refund transfer. */
  transaction: string
  /** Refunded amount, atomic token units (USDC: 6 decimals). */
  amount: bigint
  /** Whether the buyer's own chain reader found the transfer back to it: `unchecked` without a reader. */
  check: 'verified' | 'unconfirmed' | 'unchecked'
}

/**
 * The seller's handler failed (EXECUTION_FAILED, code 3000): `charged` is `false` when the payment was never settled
 * (settlement after execution, spec §7.5) and `refund` names the transfer back when it was settled and refunded.
 */
export class ExecutionFailedError extends X402Error {
  static override name = 'ExecutionFailedError'
  readonly correlationId: string
  /** Whether the payment's transfer happened (then `refund` is set when it was paid back). */
  readonly charged: boolean
  readonly refund: RefundInfo | undefined

  constructor(correlationId: string, remote: X402Error, charged: boolean, refund?: RefundInfo) {
    super(remote.code, remote.message, {
      retryable: false,
      ...(remote.details != null ? { details: remote.details } : {}),
      cause: remote
    })
    this.name = 'ExecutionFailedError'
    this.correlationId = correlationId
    this.charged = charged
    this.refund = refund
  }
}

/** A correlation id already names another journaled call (another resource or body): it cannot be reused. */
export class CallConflictError extends Error {
  static override name = 'CallConflictError'
  readonly correlationId: string

  constructor(correlationId: string) {
    super(`correlation id ${correlationId} already names another call`)
    this.name = 'CallConflictError'
    this.correlationId = correlationId
  }
}

/**
 * `call`'s body is neither bytes (`Uint8Array`, including `Buffer`) nor a string (sent as its UTF-8 encoding). Thrown
 * before anything is dialled or signed. Serialize other values yourself, e.g. `JSON.stringify(value)`.
 */
export class InvalidCallBodyError extends TypeError {
  static override name = 'InvalidCallBodyError'

  constructor(body: unknown) {
    const kind = body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body
    super(`a call body is a Uint8Array or a string (sent as UTF-8), got ${kind}`)
    this.name = 'InvalidCallBodyError'
  }
}

/** `resume` found no journaled call with this id that was paid (nothing was signed for it, or no journal). */
export class CallNotFoundError extends Error {
  static override name = 'CallNotFoundError'
  readonly correlationId: string

  constructor(correlationId: string, reason = 'no paid call with this correlation id in the journal') {
    super(`call ${correlationId}: ${reason}`)
    this.name = 'CallNotFoundError'
    this.correlationId = correlationId
  }
}

/**
 * A paid result is larger than this client's `maxResultSize`. The payment is kept, unanswered: the call is not
 * re-asked (it would get the same result), and a client with a larger limit can `resume` it. Keep `maxResultSize` at
 * least the seller's limit (both default to 4 MiB).
 */
export class ResultTooLargeError extends Error {
  static override name = 'ResultTooLargeError'
  readonly correlationId: string
  readonly maxResultSize: number

  constructor(correlationId: string, maxResultSize: number) {
    super(
      `the result of call ${correlationId} is over this client's maxResultSize (${maxResultSize} bytes); raise it and resume`
    )
    this.name = 'ResultTooLargeError'
    this.correlationId = correlationId
    this.maxResultSize = maxResultSize
  }
}

/** A journal entry exists but cannot be read: the call it holds must not be treated as never made. */
export class CallJournalCorruptError extends Error {
  static override name = 'CallJournalCorruptError'
  readonly correlationId: string

  constructor(correlationId: string, options?: { cause?: unknown }) {
    super(`the journal entry of call ${correlationId} is unreadable; repair or remove it before using this id`, options)
    this.name = 'CallJournalCorruptError'
    this.correlationId = correlationId
  }
}
