import { identityRegistryAbi } from '@betar/contracts'
import { ContractFunctionExecutionError, ContractFunctionRevertedError, encodeErrorResult, type Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  AgentNotFoundError,
  DeadlineError,
  InvalidWalletSignatureError,
  NotAuthorizedError,
  RegistryError,
  toRegistryError
} from '../src/index.ts'

const solidityError = [{ type: 'error', name: 'Error', inputs: [{ name: 'message', type: 'string' }] }] as const

/** The error viem throws when `setAgentWallet` reverts with `data`. */
function reverted(data: Hex): ContractFunctionExecutionError {
  const cause = new ContractFunctionRevertedError({ abi: identityRegistryAbi, data, functionName: 'setAgentWallet' })
  return new ContractFunctionExecutionError(cause, {
    abi: identityRegistryAbi,
    functionName: 'setAgentWallet',
    args: [0n, '0x0000000000000000000000000000000000000001', 0n, '0x']
  })
}
const reason = (message: string) =>
  reverted(encodeErrorResult({ abi: solidityError, errorName: 'Error', args: [message] }))

describe('toRegistryError: both wordings', () => {
  // The official ERC-8004 v2.0.0 IdentityRegistryUpgradeable and @betar/contracts' historic wording.
  it.each([
    ['invalid wallet sig', InvalidWalletSignatureError],
    ['invalid wallet signature', InvalidWalletSignatureError],
    ['bad wallet', InvalidWalletSignatureError],
    ['expired', DeadlineError],
    ['deadline too far', DeadlineError],
    ['Not authorized', NotAuthorizedError]
  ] as const)('maps "%s"', (message, Type) => {
    const error = toRegistryError(reason(message), 'setAgentWallet')
    expect(error).toBeInstanceOf(Type)
    expect(error.message).toBe(`setAgentWallet reverted: ${message}`)
  })

  it('maps ERC721NonexistentToken to AgentNotFoundError', () => {
    const data = encodeErrorResult({ abi: identityRegistryAbi, errorName: 'ERC721NonexistentToken', args: [7n] })
    expect(toRegistryError(reverted(data), 'setAgentWallet')).toBeInstanceOf(AgentNotFoundError)
  })

  it('keeps an unknown reason as a plain RegistryError', () => {
    const error = toRegistryError(reason('reserved key'), 'setMetadata')
    expect(error.constructor).toBe(RegistryError)
    expect(error.message).toBe('setMetadata reverted: reserved key')
  })
})
