import { setTimeout as sleep } from 'node:timers/promises'
import { validationRegistryAbi } from '@betar/contracts'
import type { DevnetAccount } from '@betar/devnet'
import {
  ContractFunctionExecutionError,
  ContractFunctionRevertedError,
  createTestClient,
  encodeErrorResult,
  type Hex,
  http,
  keccak256,
  type PublicClient,
  toHex,
  zeroAddress,
  zeroHash
} from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toRegistryCallError } from '../src/errors.ts'
import {
  getValidationStatus,
  NotAuthorizedError,
  NotValidatorError,
  RegistryCallError,
  requestValidation,
  respondValidation,
  SelfFeedbackError,
  ValidationNotFoundError
} from '../src/index.ts'
import { type Env, setupEnv } from './helpers.ts'

describe('validation registry helpers', () => {
  let env: Env
  let owner: DevnetAccount
  let validator: DevnetAccount
  let stranger: DevnetAccount
  let agentId: bigint

  beforeAll(async () => {
    env = await setupEnv(3)
    ;[owner, validator, stranger] = env.devnet.accounts as [DevnetAccount, DevnetAccount, DevnetAccount]
    agentId = await env.register(owner)
  }, 60_000)

  afterAll(async () => {
    await env?.devnet.stop()
  })

  it('requests by the owner, responds by the validator and rejects others with typed errors', async () => {
    const base = { publicClient: env.publicClient, validationRegistry: env.devnet.contracts.validationRegistry }
    const requestURI = 'data:application/json,{"job":"1"}'
    const requestHash = keccak256(toHex(requestURI))

    await expect(
      requestValidation({
        ...base,
        walletClient: env.wallet(stranger),
        validatorAddress: validator.address,
        agentId,
        requestURI,
        requestHash
      })
    ).rejects.toBeInstanceOf(NotAuthorizedError)

    await requestValidation({
      ...base,
      walletClient: env.wallet(owner),
      validatorAddress: validator.address,
      agentId,
      requestURI,
      requestHash
    })
    let status = await getValidationStatus({ ...base, requestHash })
    expect(status).toMatchObject({ validatorAddress: validator.address, agentId, response: 0, tag: '' })
    const requestedAt = status.lastUpdate

    const error = await respondValidation({
      ...base,
      walletClient: env.wallet(stranger),
      requestHash,
      response: 100
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NotValidatorError)
    expect(error).toMatchObject({ name: 'NotValidatorError', reason: 'not validator' })

    const responseHash = keccak256(toHex('report'))
    await respondValidation({
      ...base,
      walletClient: env.wallet(validator),
      requestHash,
      response: 87,
      responseURI: 'data:,report',
      responseHash,
      tag: 'hard-finality'
    })
    status = await getValidationStatus({ ...base, requestHash })
    expect(status).toMatchObject({ response: 87, responseHash, tag: 'hard-finality' })
    expect(status.lastUpdate).toBeGreaterThanOrEqual(requestedAt)
    await expect(
      respondValidation({ ...base, walletClient: env.wallet(validator), requestHash, response: 101 })
    ).rejects.toThrow(RangeError)
  })

  // Observed in CI: a response whose gas was estimated in the block second of its request (its `lastUpdate =
  // block.timestamp` a no-op store then) and mined a second later ran out of gas and reverted. The clock is pinned
  // here so that the race happens every time: every block keeps the request's timestamp until the response is mined.
  it('a response mined in a later second than its gas estimate still succeeds (timestamp store priced)', async () => {
    const base = { publicClient: env.publicClient, validationRegistry: env.devnet.contracts.validationRegistry }
    const testClient = createTestClient({ chain: env.devnet.chain, mode: 'anvil', transport: http(env.devnet.rpcUrl) })
    const requestHash = keccak256(toHex('estimated in the request second'))
    await testClient.request({ method: 'anvil_setBlockTimestampInterval', params: [0] })
    try {
      await requestValidation({
        ...base,
        walletClient: env.wallet(owner),
        validatorAddress: validator.address,
        agentId,
        requestURI: 'data:,later',
        requestHash
      })
      const { lastUpdate: requestedAt } = await getValidationStatus({ ...base, requestHash })
      await testClient.setAutomine(false)
      const responded = respondValidation({ ...base, walletClient: env.wallet(validator), requestHash, response: 5 })
      while ((await testClient.request({ method: 'txpool_status' })).pending === '0x0') await sleep(20)
      await testClient.setNextBlockTimestamp({ timestamp: requestedAt + 1n })
      await testClient.mine({ blocks: 1 })
      await responded
      expect(await getValidationStatus({ ...base, requestHash })).toMatchObject({
        response: 5,
        lastUpdate: requestedAt + 1n
      })
    } finally {
      await testClient.setAutomine(true)
      await testClient.request({ method: 'anvil_removeBlockTimestampInterval' })
    }
  })

  it('getValidationStatus and validationResponse on an unknown request hash throw ValidationNotFoundError', async () => {
    const base = { publicClient: env.publicClient, validationRegistry: env.devnet.contracts.validationRegistry }
    const requestHash = keccak256(toHex('never requested'))
    const read = await getValidationStatus({ ...base, requestHash }).catch((e: unknown) => e)
    expect(read).toBeInstanceOf(ValidationNotFoundError)
    expect(read).toMatchObject({ name: 'ValidationNotFoundError', reason: 'unknown' })
    const write = await respondValidation({
      ...base,
      walletClient: env.wallet(validator),
      requestHash,
      response: 1
    }).catch((e: unknown) => e)
    expect(write).toMatchObject({ name: 'ValidationNotFoundError', reason: 'unknown' })
  })
})

const solidityError = [{ type: 'error', name: 'Error', inputs: [{ name: 'message', type: 'string' }] }] as const

/** The error viem throws when `getValidationStatus` reverts with `data`. */
function reverted(data: Hex): ContractFunctionExecutionError {
  const cause = new ContractFunctionRevertedError({
    abi: validationRegistryAbi,
    data,
    functionName: 'getValidationStatus'
  })
  return new ContractFunctionExecutionError(cause, {
    abi: validationRegistryAbi,
    functionName: 'getValidationStatus',
    args: [zeroHash]
  })
}
const reason = (message: string) =>
  reverted(encodeErrorResult({ abi: solidityError, errorName: 'Error', args: [message] }))

describe('registry errors: the reference wording and our historic one', () => {
  it.each([
    ['unknown', ValidationNotFoundError],
    ['unknown request', ValidationNotFoundError],
    ['not validator', NotValidatorError],
    ['Not authorized', NotAuthorizedError],
    ['Self-feedback not allowed', SelfFeedbackError]
  ] as const)('maps "%s"', (message, Type) => {
    const error = toRegistryCallError(reason(message), 'call')
    expect(error).toBeInstanceOf(Type)
    expect(error.reason).toBe(message)
  })

  it('keeps other reasons (e.g. "resp>100", "too many decimals") as RegistryCallError with the reason', () => {
    for (const message of ['resp>100', 'response > 100', 'too many decimals', 'index must be > 0']) {
      const error = toRegistryCallError(reason(message), 'call')
      expect(error.constructor).toBe(RegistryCallError)
      expect(error.reason).toBe(message)
    }
  })

  it('reports a custom error by its name', () => {
    const abi = [
      { type: 'error', name: 'ERC721NonexistentToken', inputs: [{ name: 'tokenId', type: 'uint256' }] }
    ] as const
    const data = encodeErrorResult({ abi, errorName: 'ERC721NonexistentToken', args: [7n] })
    const cause = new ContractFunctionRevertedError({ abi, data, functionName: 'ownerOf' })
    expect(toRegistryCallError(cause, 'ownerOf').reason).toBe('ERC721NonexistentToken')
  })

  it('treats a registry that returns zeros for an unknown hash (historic @betar/contracts) as not found', async () => {
    const publicClient = {
      readContract: async () => [zeroAddress, 0n, 0, zeroHash, '', 0n]
    } as unknown as PublicClient
    await expect(
      getValidationStatus({ publicClient, validationRegistry: zeroAddress, requestHash: zeroHash })
    ).rejects.toBeInstanceOf(ValidationNotFoundError)
  })

  it('wraps a transport failure in RegistryCallError', async () => {
    const publicClient = {
      readContract: async () => {
        throw new Error('socket hang up')
      }
    } as unknown as PublicClient
    const error = await getValidationStatus({
      publicClient,
      validationRegistry: zeroAddress,
      requestHash: zeroHash
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RegistryCallError)
  })
})
