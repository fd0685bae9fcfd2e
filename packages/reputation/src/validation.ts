import { validationRegistryAbi } from '@betar/contracts'
import { type Address, type Hash, type Hex, type PublicClient, zeroAddress, zeroHash } from 'viem'
import type { WriteClients } from './clients.ts'
import { toRegistryCallError, ValidationNotFoundError } from './errors.ts'
import { writeAndWait } from './write-contract.ts'

/** Parameters of {@link requestValidation}. */
export interface RequestValidationParameters extends WriteClients {
  validationRegistry: Address
  validatorAddress: Address
  agentId: bigint
  /** Where the validator finds the request payload. */
  requestURI: string
  /** keccak256 of the request payload (mandatory in the spec; it identifies the request). */
  requestHash: Hex
}

/**
 * Calls `validationRequest(validatorAddress, agentId, requestURI, requestHash)`. Must be sent by the agent's owner or
 * an approved operator, otherwise throws {@link NotAuthorizedError}.
 */
export async function requestValidation(params: RequestValidationParameters): Promise<{ txHash: Hash }> {
  const { walletClient, publicClient } = params
  const call = {
    address: params.validationRegistry,
    abi: validationRegistryAbi,
    functionName: 'validationRequest',
    args: [params.validatorAddress, params.agentId, params.requestURI, params.requestHash],
    account: walletClient.account
  } as const
  const { txHash } = await writeAndWait(
    params,
    {
      simulate: () => publicClient.simulateContract(call),
      send: () => walletClient.writeContract({ ...call, chain: walletClient.chain ?? null })
    },
    'validationRequest'
  )
  return { txHash }
}

/**
 * Gas added to the node's estimate of `validationResponse`. The call stores `lastUpdate = block.timestamp` over the
 * request's timestamp; a node estimates against the latest (or pending) block, so when that block holds the request
 * the store is a no-op (EIP-2200/2929: 100 gas warm) while the mined block, a second later, pays for a change
 * (SSTORE_RESET 2,900). Without the difference the response ran out of gas and reverted, the fee spent.
 */
const TIMESTAMP_STORE_HEADROOM = 2_900n - 100n

/** Parameters of {@link respondValidation}. */
export interface RespondValidationParameters extends WriteClients {
  validationRegistry: Address
  requestHash: Hex
  /** 0–100 (0 = failed, 100 = passed). */
  response: number
  responseURI?: string
  /** @default zero hash */
  responseHash?: Hex
  tag?: string
}

/**
 * Calls `validationResponse(requestHash, response, responseURI, responseHash, tag)`. Must be sent by the request's
 * validator, otherwise throws {@link NotValidatorError}; an unknown `requestHash` throws
 * {@link ValidationNotFoundError}. A later response overwrites an earlier one. Sent with the node's gas estimate plus
 * the price of the timestamp store, so a response mined a block after its estimate does not run out of gas.
 */
export async function respondValidation(params: RespondValidationParameters): Promise<{ txHash: Hash }> {
  const { walletClient, publicClient } = params
  if (!Number.isInteger(params.response) || params.response < 0 || params.response > 100) {
    throw new RangeError('response must be an integer 0–100')
  }
  const call = {
    address: params.validationRegistry,
    abi: validationRegistryAbi,
    functionName: 'validationResponse',
    args: [
      params.requestHash,
      params.response,
      params.responseURI ?? '',
      params.responseHash ?? zeroHash,
      params.tag ?? ''
    ],
    account: walletClient.account
  } as const
  const { txHash } = await writeAndWait(
    params,
    {
      simulate: () => publicClient.simulateContract(call),
      send: async () => {
        const gas = (await publicClient.estimateContractGas(call)) + TIMESTAMP_STORE_HEADROOM
        return walletClient.writeContract({ ...call, gas, chain: walletClient.chain ?? null })
      }
    },
    'validationResponse'
  )
  return { txHash }
}

/** The on-chain status of a validation request. */
export interface ValidationStatus {
  validatorAddress: Address
  agentId: bigint
  response: number
  responseHash: Hex
  tag: string
  /** Block timestamp of the request or of the last response. */
  lastUpdate: bigint
}

/**
 * Reads `getValidationStatus(requestHash)`. Throws {@link ValidationNotFoundError} for a request hash never requested
 * (the registries revert `"unknown"`; registries that return zeros instead are treated the same) and
 * {@link RegistryCallError} for any other failure.
 */
export async function getValidationStatus(params: {
  publicClient: PublicClient
  validationRegistry: Address
  requestHash: Hex
}): Promise<ValidationStatus> {
  const [validatorAddress, agentId, response, responseHash, tag, lastUpdate] = await params.publicClient
    .readContract({
      address: params.validationRegistry,
      abi: validationRegistryAbi,
      functionName: 'getValidationStatus',
      args: [params.requestHash]
    })
    .catch((error: unknown) => {
      throw toRegistryCallError(error, 'getValidationStatus')
    })
  if (validatorAddress === zeroAddress) {
    throw new ValidationNotFoundError(`getValidationStatus failed: unknown request ${params.requestHash}`, {
      details: 'no validation request with this hash'
    })
  }
  return { validatorAddress, agentId, response, responseHash, tag, lastUpdate }
}
