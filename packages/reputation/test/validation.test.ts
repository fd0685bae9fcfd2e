import type { DevnetAccount } from '@betar/devnet'
import { keccak256, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  getValidationStatus,
  NotAuthorizedError,
  NotValidatorError,
  requestValidation,
  respondValidation
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
})
