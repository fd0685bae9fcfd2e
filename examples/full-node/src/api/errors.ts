import {
  InsufficientFundsError,
  ListingVerificationError,
  NoSellerError,
  ReputationTooLowError,
  SellerUnreachableError
} from '@betar/node'
import {
  BudgetExceededError,
  CallConflictError,
  CallNotFoundError,
  ExecutionFailedError,
  PaymentInterruptedError,
  PaymentNotApprovedError,
  PaymentTakenError,
  X402Error
} from '@betar/x402-libp2p'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { type ApiErrorBody, errorBody } from './json.ts'
import { libraryHttpError } from './library-errors.ts'

/** An API error raised by a route: its status and JSON body are sent as they are. */
export class ApiError extends Error {
  override name = 'ApiError'
  readonly status: ContentfulStatusCode
  readonly body: ApiErrorBody

  constructor(status: ContentfulStatusCode, name: string, message: string, extra: Record<string, unknown> = {}) {
    super(message)
    this.status = status
    this.body = errorBody(name, message, extra)
  }
}

/**
 * Maps an error to its HTTP status and JSON body: payment refused, budget exceeded or too little USDC in the wallet →
 * 402, no seller (with `connectedPeers`) or unknown call → 404, sellers that cannot be reached → 502, failed
 * listing verification or input the seller refuses (`INVALID_REQUEST`) → 422, reputation too low or a correlation id
 * naming another call → 409, the agent's task failed → 502 (`charged`, `refund`), seller took the payment without a
 * result → 502 (`settlement`), no outcome readable yet → 504 (resume it), other x402 errors → 502 (`codeName`);
 * library errors as {@link libraryHttpError} types them; anything else → 500 `InternalError` with no detail.
 */
export function toHttpError(err: unknown): { status: ContentfulStatusCode; body: ApiErrorBody } {
  if (err instanceof ApiError) return { status: err.status, body: err.body }
  if (err instanceof PaymentNotApprovedError) {
    return { status: 402, body: errorBody(err.name, err.message, { violations: err.violations }) }
  }
  if (err instanceof BudgetExceededError) return { status: 402, body: errorBody(err.name, err.message) }
  if (err instanceof InsufficientFundsError) {
    return {
      status: 402,
      body: errorBody(err.name, err.message, {
        address: err.address,
        balanceAtomic: err.balance.toString(),
        requiredAtomic: err.required.toString()
      })
    }
  }
  if (err instanceof SellerUnreachableError) return { status: 502, body: errorBody(err.name, err.message) }
  if (err instanceof NoSellerError) {
    const extra = err.connectedPeers != null ? { connectedPeers: err.connectedPeers } : {}
    return { status: 404, body: errorBody(err.name, err.message, extra) }
  }
  if (err instanceof ListingVerificationError) {
    return {
      status: 422,
      body: errorBody(err.name, err.message, {
        reasons: err.reasons.map((r) => ({ code: r.code, message: r.message }))
      })
    }
  }
  if (err instanceof ReputationTooLowError) return { status: 409, body: errorBody(err.name, err.message) }
  if (err instanceof CallConflictError) return { status: 409, body: errorBody(err.name, err.message) }
  if (err instanceof CallNotFoundError) return { status: 404, body: errorBody(err.name, err.message) }
  if (err instanceof PaymentInterruptedError) {
    return { status: 504, body: errorBody(err.name, `${err.message}: POST /calls with this correlationId to resume`) }
  }
  if (err instanceof PaymentTakenError) {
    return { status: 502, body: errorBody(err.name, err.message, { settlement: err.settlement }) }
  }
  if (err instanceof ExecutionFailedError) {
    const refund = err.refund != null ? { ...err.refund, amount: err.refund.amount.toString() } : null
    return {
      status: 502,
      body: errorBody(err.name, err.message, { codeName: err.codeName, code: err.code, charged: err.charged, refund })
    }
  }
  if (err instanceof X402Error && err.codeName === 'INVALID_REQUEST') {
    return { status: 422, body: errorBody('InvalidInput', err.message, { codeName: err.codeName, code: err.code }) }
  }
  if (err instanceof X402Error) {
    return {
      status: 502,
      body: errorBody('X402Error', err.message, { codeName: err.codeName, code: err.code, retryable: err.retryable })
    }
  }
  const library = libraryHttpError(err)
  if (library != null) return library
  // Anything else is a fault of the node: its text (maybe a path or a library's internals) stays in the process.
  return { status: 500, body: errorBody('InternalError', 'the node failed to answer this request') }
}
