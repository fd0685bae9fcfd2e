import { BudgetExceededError, PaymentNotApprovedError, X402Error } from '@betar/x402-libp2p'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { ListingVerificationError, MissingSettlementError, NoSellerError, ReputationTooLowError } from '../errors.ts'
import { type ApiErrorBody, errorBody } from './json.ts'

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
 * Maps an error to its HTTP status and JSON body: payment refused → 402, no seller → 404, failed listing
 * verification → 422 (with the reasons), reputation too low → 409, x402 protocol errors → 502 (with `codeName`).
 */
export function toHttpError(err: unknown): { status: ContentfulStatusCode; body: ApiErrorBody } {
  if (err instanceof ApiError) return { status: err.status, body: err.body }
  if (err instanceof PaymentNotApprovedError) {
    return { status: 402, body: errorBody(err.name, err.message, { violations: err.violations }) }
  }
  if (err instanceof BudgetExceededError) return { status: 402, body: errorBody(err.name, err.message) }
  if (err instanceof NoSellerError) return { status: 404, body: errorBody(err.name, err.message) }
  if (err instanceof ListingVerificationError) {
    return {
      status: 422,
      body: errorBody(err.name, err.message, {
        reasons: err.reasons.map((r) => ({ code: r.code, message: r.message }))
      })
    }
  }
  if (err instanceof ReputationTooLowError) return { status: 409, body: errorBody(err.name, err.message) }
  if (err instanceof X402Error) {
    return {
      status: 502,
      body: errorBody('X402Error', err.message, { codeName: err.codeName, code: err.code, retryable: err.retryable })
    }
  }
  if (err instanceof MissingSettlementError) return { status: 502, body: errorBody(err.name, err.message) }
  if (err instanceof Error) return { status: 500, body: errorBody(err.name, err.message) }
  return { status: 500, body: errorBody('Error', String(err)) }
}
