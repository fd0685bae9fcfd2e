import { BaseError, ContractFunctionRevertedError } from 'viem'
import {
  AgentNotFoundError,
  DeadlineError,
  InvalidWalletSignatureError,
  NotAuthorizedError,
  RegistryError
} from './errors.ts'

// Reasons of the official ERC-8004 v2.0.0 registries (erc-8004/erc-8004-contracts) and of @betar/contracts, which
// reverts with the same strings since 0.x; the historic wordings of @betar/contracts are kept so clients still map
// older deployments ("invalid wallet signature" there, "invalid wallet sig" in the reference).
const NOT_AUTHORIZED = new Set(['Not authorized', 'ERC721InsufficientApproval', 'ERC721IncorrectOwner'])
const DEADLINE = new Set(['expired', 'deadline too far'])
const BAD_SIGNATURE = new Set(['invalid wallet sig', 'invalid wallet signature', 'bad wallet'])

/**
 * Maps an error thrown by a viem contract call to this package's typed registry errors, using the revert reason
 * string or custom error name; anything else becomes a {@link RegistryError} with the original as `cause`.
 */
export function toRegistryError(error: unknown, action: string): Error {
  if (error instanceof RegistryError) return error
  if (!(error instanceof BaseError)) {
    return new RegistryError(`${action} failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error
    })
  }
  const revert = error.walk((e) => e instanceof ContractFunctionRevertedError)
  if (revert instanceof ContractFunctionRevertedError) {
    const reason = revert.data?.errorName === 'Error' ? revert.reason : (revert.data?.errorName ?? revert.reason)
    const message = `${action} reverted: ${reason ?? 'unknown reason'}`
    if (reason == null) return new RegistryError(message, { cause: error })
    if (NOT_AUTHORIZED.has(reason)) return new NotAuthorizedError(message, { cause: error })
    if (reason === 'ERC721NonexistentToken') return new AgentNotFoundError(message, { cause: error })
    if (DEADLINE.has(reason)) return new DeadlineError(message, { cause: error })
    if (BAD_SIGNATURE.has(reason) || reason.startsWith('ECDSA')) {
      return new InvalidWalletSignatureError(message, { cause: error })
    }
    return new RegistryError(message, { cause: error })
  }
  return new RegistryError(`${action} failed: ${error.shortMessage}`, { cause: error })
}
