import { BaseError, ContractFunctionRevertedError } from 'viem'

/** Options shared by the chain-facing errors (viem's `shortMessage`/`details`/`cause` pattern). */
export interface ReputationErrorOptions {
  /** The underlying error, usually a viem `BaseError`. */
  cause?: unknown
  /** Technical details (e.g. the revert reason or the RPC message). */
  details?: string
}

/** Base class of every error `@betar/reputation` throws. */
export class ReputationError extends Error {
  static override name = 'ReputationError'
  /** A one-line human summary, without the details. */
  readonly shortMessage: string
  readonly details: string | undefined

  constructor(shortMessage: string, options: ReputationErrorOptions = {}) {
    super(options.details != null ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage, {
      cause: options.cause
    })
    this.name = (this.constructor as typeof ReputationError).name
    this.shortMessage = shortMessage
    this.details = options.details
  }
}

/** A feedback file is not valid JSON, does not match the ERC-8004 schema, or does not match its on-chain event. */
export class FeedbackFileError extends ReputationError {
  static override name = 'FeedbackFileError'
}

/** A URI cannot be loaded (unsupported scheme, malformed `data:` URI, loader failure). */
export class FeedbackLoadError extends ReputationError {
  static override name = 'FeedbackLoadError'
}

/** A registry call reverted or failed. `reason` is the Solidity revert string when there is one. */
export class RegistryCallError extends ReputationError {
  static override name = 'RegistryCallError'
  /** The revert reason, e.g. `Self-feedback not allowed`. */
  readonly reason: string | undefined

  constructor(shortMessage: string, options: ReputationErrorOptions & { reason?: string } = {}) {
    super(shortMessage, options)
    this.reason = options.reason
  }
}

/** `giveFeedback` reverted because the caller is the agent's owner or an approved operator. */
export class SelfFeedbackError extends RegistryCallError {
  static override name = 'SelfFeedbackError'
}

/** A validation request was sent by someone who is not the agent's owner or an approved operator. */
export class NotAuthorizedError extends RegistryCallError {
  static override name = 'NotAuthorizedError'
}

/** A validation response was sent by an address other than the request's validator. */
export class NotValidatorError extends RegistryCallError {
  static override name = 'NotValidatorError'
}

/**
 * `getValidationStatus` (or `validationResponse`) named a request hash that was never requested: the official
 * registries revert `"unknown"`, historic `@betar/contracts` reverted `"unknown request"` (or returned zeros from
 * `getValidationStatus`).
 */
export class ValidationNotFoundError extends RegistryCallError {
  static override name = 'ValidationNotFoundError'
}

/** A transaction was mined but reverted, or its receipt lacks the expected event. */
export class TransactionFailedError extends ReputationError {
  static override name = 'TransactionFailedError'
}

// Both wordings: the official ERC-8004 v2.0.0 registries' (which @betar/contracts now uses) and our historic one.
const BY_REASON: ReadonlyArray<[string, typeof RegistryCallError]> = [
  ['Self-feedback not allowed', SelfFeedbackError],
  ['Not authorized', NotAuthorizedError],
  ['not validator', NotValidatorError],
  ['unknown', ValidationNotFoundError],
  ['unknown request', ValidationNotFoundError]
]

/** The Solidity revert reason carried by a viem error, if any. */
export function revertReason(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) return undefined
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError)
  if (reverted instanceof ContractFunctionRevertedError) {
    if (reverted.reason != null) return reverted.reason
    const data = reverted.data
    // A custom error (e.g. ERC721NonexistentToken from the Identity Registry) is reported by its name.
    if (data != null && data.errorName !== 'Error') return data.errorName
    return data?.args?.[0] != null ? String(data.args[0]) : undefined
  }
  return undefined
}

/** Wraps a viem error from a registry call in the matching typed {@link RegistryCallError}. */
export function toRegistryCallError(error: unknown, action: string): RegistryCallError {
  if (error instanceof RegistryCallError) return error
  const reason = revertReason(error)
  const Ctor = BY_REASON.find(([r]) => r === reason)?.[1] ?? RegistryCallError
  const details = reason ?? (error instanceof BaseError ? error.shortMessage : String(error))
  return new Ctor(`${action} failed${reason != null ? `: ${reason}` : ''}`, {
    cause: error,
    details,
    ...(reason != null ? { reason } : {})
  })
}
