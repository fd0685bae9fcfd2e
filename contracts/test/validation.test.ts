import { type Address, getContract, type Hex, keccak256, parseEventLogs, toHex, zeroAddress, zeroHash } from 'viem'
import { describe, expect, it } from 'vitest'
import { deployErc8004Registries, identityRegistryAbi, validationRegistryAbi } from '../src/index.ts'
import { expectRevert, mined, useChain, type Wallet } from './helpers.ts'

let identityAddress: Address
let validationAddress: Address

// Accounts: 0 deploys; 1 (alice) owns agents 0 and 1; 2 (mallory) owns nothing; 3 and 5 are validators; 4 an operator.
const chain = useChain(async ({ publicClient, wallets }) => {
  const deployed = await deployErc8004Registries({ walletClient: wallets[0], publicClient })
  identityAddress = deployed.identityRegistry
  validationAddress = deployed.validationRegistry
  const identity = getContract({ address: identityAddress, abi: identityRegistryAbi, client: wallets[1] })
  await mined(publicClient, identity.write.register(['ipfs://agent-0']))
  await mined(publicClient, identity.write.register(['ipfs://agent-1']))
})

const validation = (wallet: Wallet) =>
  getContract({
    address: validationAddress,
    abi: validationRegistryAbi,
    client: { public: chain.publicClient, wallet }
  })

const hashOf = (label: string): Hex => keccak256(toHex(label))

function request(wallet: Wallet, validator: Address, agentId: bigint, label: string) {
  return mined(
    chain.publicClient,
    validation(wallet).write.validationRequest([validator, agentId, `ipfs://${label}`, hashOf(label)])
  )
}

/**
 * Sends a response with the estimate plus 2,800 gas: the estimate runs against the latest block, where the
 * `lastUpdate = block.timestamp` store is a no-op when that block holds the request (100 gas), and the mined block a
 * second later pays for a change (2,900). Without it a CI run under load saw the response revert out of gas
 * (the same fix is in @betar/reputation's respondValidation).
 */
async function respond(wallet: Wallet, label: string, response: number, tag = '') {
  const args = [hashOf(label), response, `ipfs://${label}/answer`, hashOf(`${label}/answer`), tag] as const
  const gas = await validation(wallet).estimateGas.validationResponse(args, { account: wallet.account })
  return mined(chain.publicClient, validation(wallet).write.validationResponse(args, { gas: gas + 2_800n }))
}

describe('ValidationRegistry: requests', () => {
  it('knows its Identity Registry', async () => {
    expect(await validation(chain.wallets[0]).read.getIdentityRegistry()).toBe(identityAddress)
  })

  it('records a request from the owner and emits ValidationRequest', async () => {
    const [, alice, , validator] = chain.wallets
    const receipt = await request(alice, validator.account.address, 0n, 'job-1')
    const logs = parseEventLogs({ abi: validationRegistryAbi, logs: receipt.logs })
    expect(logs.map((l) => [l.eventName, l.args])).toEqual([
      [
        'ValidationRequest',
        {
          validatorAddress: validator.account.address,
          agentId: 0n,
          requestURI: 'ipfs://job-1',
          requestHash: hashOf('job-1')
        }
      ]
    ])
    const { timestamp } = await chain.publicClient.getBlock({ blockNumber: receipt.blockNumber })
    const v = validation(alice)
    expect(await v.read.getValidationStatus([hashOf('job-1')])).toEqual([
      validator.account.address,
      0n,
      0,
      zeroHash,
      '',
      timestamp
    ])
    expect(await v.read.getAgentValidations([0n])).toEqual([hashOf('job-1')])
    expect(await v.read.getValidatorRequests([validator.account.address])).toEqual([hashOf('job-1')])
  })

  it('accepts a request from an approved operator', async () => {
    const [, alice, , validator, operator] = chain.wallets
    const identity = getContract({ address: identityAddress, abi: identityRegistryAbi, client: alice })
    await mined(chain.publicClient, identity.write.approve([operator.account.address, 1n]))
    await request(operator, validator.account.address, 1n, 'by-operator')
    expect(await validation(operator).read.getAgentValidations([1n])).toEqual([hashOf('by-operator')])
  })

  it('rejects strangers, unknown agents, a zero validator and a reused requestHash', async () => {
    const [, alice, mallory, validator, , other] = chain.wallets
    const v = validator.account.address
    await expectRevert(validation(mallory).write.validationRequest([v, 0n, 'ipfs://x', hashOf('x')]), 'Not authorized')
    await expectRevert(
      validation(alice).write.validationRequest([v, 9n, 'ipfs://x', hashOf('x')]),
      'ERC721NonexistentToken'
    )
    await expectRevert(
      validation(alice).write.validationRequest([zeroAddress, 0n, 'ipfs://x', hashOf('x')]),
      'bad validator'
    )
    await request(alice, v, 0n, 'x')
    await expectRevert(validation(alice).write.validationRequest([v, 0n, 'ipfs://x', hashOf('x')]), 'exists')
    // requestHash is global: another agent or validator cannot reuse it either.
    await expectRevert(
      validation(alice).write.validationRequest([other.account.address, 1n, 'ipfs://y', hashOf('x')]),
      'exists'
    )
  })

  it('reverts "unknown" for an unknown requestHash and returns empty lists for unknown keys', async () => {
    const v = validation(chain.wallets[0])
    await expectRevert(v.read.getValidationStatus([hashOf('nope')]), 'unknown')
    expect(await v.read.getAgentValidations([1n])).toEqual([])
    expect(await v.read.getValidatorRequests([zeroAddress])).toEqual([])
  })
})

describe('ValidationRegistry: responses', () => {
  it('lets the validator answer, overwriting the status while the events keep the history', async () => {
    const [, alice, , validator] = chain.wallets
    await request(alice, validator.account.address, 0n, 'job')
    const soft = await respond(validator, 'job', 60, 'soft')
    expect(parseEventLogs({ abi: validationRegistryAbi, logs: soft.logs }).map((l) => [l.eventName, l.args])).toEqual([
      [
        'ValidationResponse',
        {
          validatorAddress: validator.account.address,
          agentId: 0n,
          requestHash: hashOf('job'),
          response: 60,
          responseURI: 'ipfs://job/answer',
          responseHash: hashOf('job/answer'),
          tag: 'soft'
        }
      ]
    ])
    const later = (await chain.publicClient.getBlock()).timestamp + 100n
    await chain.testClient.setNextBlockTimestamp({ timestamp: later })
    await respond(validator, 'job', 100, 'hard')
    expect(await validation(alice).read.getValidationStatus([hashOf('job')])).toEqual([
      validator.account.address,
      0n,
      100,
      hashOf('job/answer'),
      'hard',
      later
    ])
    const history = await chain.publicClient.getContractEvents({
      address: validationAddress,
      abi: validationRegistryAbi,
      eventName: 'ValidationResponse',
      args: { requestHash: hashOf('job') },
      fromBlock: 0n
    })
    expect(history.map((l) => [l.args.response, l.args.tag])).toEqual([
      [60, 'soft'],
      [100, 'hard']
    ])
  })

  it('accepts 0 and 100, rejects 101, unknown requests and anyone but the validator', async () => {
    const [, alice, mallory, validator] = chain.wallets
    await request(alice, validator.account.address, 0n, 'job')
    await respond(validator, 'job', 0)
    await respond(validator, 'job', 100)
    const answer = (wallet: Wallet, hash: Hex, response: number) =>
      validation(wallet).write.validationResponse([hash, response, 'ipfs://a', zeroHash, ''])
    await expectRevert(answer(validator, hashOf('job'), 101), 'resp>100')
    await expectRevert(answer(validator, hashOf('job'), 255), 'resp>100')
    await expectRevert(answer(mallory, hashOf('job'), 50), 'not validator')
    await expectRevert(answer(alice, hashOf('job'), 50), 'not validator')
    await expectRevert(answer(validator, hashOf('unknown'), 50), 'unknown')
  })
})

describe('ValidationRegistry: getSummary', () => {
  it('averages only answered requests (truncating), filtered by validators and tag', async () => {
    const [, alice, , v1, , v2] = chain.wallets
    const a = v1.account.address
    const b = v2.account.address
    await request(alice, a, 0n, 'r1')
    await request(alice, a, 0n, 'r2')
    await request(alice, b, 0n, 'r3')
    await request(alice, b, 0n, 'r4') // never answered
    await request(alice, a, 1n, 'other-agent')
    await respond(v1, 'r1', 100, 'hard')
    await respond(v1, 'r2', 0, 'soft')
    await respond(v2, 'r3', 51, 'hard')
    await respond(v1, 'other-agent', 7, 'hard')
    const v = validation(alice)
    expect(await v.read.getSummary([0n, [], ''])).toEqual([3n, 50])
    expect(await v.read.getSummary([0n, [a], ''])).toEqual([2n, 50])
    expect(await v.read.getSummary([0n, [b], ''])).toEqual([1n, 51])
    expect(await v.read.getSummary([0n, [a, b], 'hard'])).toEqual([2n, 75])
    expect(await v.read.getSummary([0n, [], 'soft'])).toEqual([1n, 0])
    expect(await v.read.getSummary([0n, [], 'missing'])).toEqual([0n, 0])
    expect(await v.read.getSummary([0n, [alice.account.address], ''])).toEqual([0n, 0])
    expect(await v.read.getSummary([1n, [], ''])).toEqual([1n, 7])
    expect(await v.read.getAgentValidations([0n])).toEqual([hashOf('r1'), hashOf('r2'), hashOf('r3'), hashOf('r4')])
    expect(await v.read.getValidatorRequests([a])).toEqual([hashOf('r1'), hashOf('r2'), hashOf('other-agent')])
  })
})

// One test per revert reason of the official ERC-8004 v2.0.0 ValidationRegistryUpgradeable
// (erc-8004/erc-8004-contracts@b9e466c), pinning the exact string and the order of the checks.
describe('ValidationRegistry: revert reasons of the reference implementation', () => {
  it('getVersion() is "2.0.0"', async () => {
    expect(await validation(chain.wallets[0]).read.getVersion()).toBe('2.0.0')
  })

  it('"bad validator" (checked first)', async () => {
    const [, , mallory] = chain.wallets
    await expectRevert(
      validation(mallory).write.validationRequest([zeroAddress, 9n, 'ipfs://x', hashOf('x')]),
      'bad validator'
    )
  })

  it('"exists" (checked before the caller\'s authorization)', async () => {
    const [, alice, mallory, validator] = chain.wallets
    await request(alice, validator.account.address, 0n, 'x')
    await expectRevert(
      validation(mallory).write.validationRequest([validator.account.address, 0n, 'ipfs://x', hashOf('x')]),
      'exists'
    )
  })

  it('"Not authorized" and ERC721NonexistentToken', async () => {
    const [, alice, mallory, validator] = chain.wallets
    const v = validator.account.address
    await expectRevert(validation(mallory).write.validationRequest([v, 0n, 'ipfs://x', hashOf('x')]), 'Not authorized')
    await expectRevert(
      validation(alice).write.validationRequest([v, 9n, 'ipfs://x', hashOf('x')]),
      'ERC721NonexistentToken'
    )
  })

  it('"unknown": validationResponse and getValidationStatus on a never-requested hash', async () => {
    const [, , , validator] = chain.wallets
    await expectRevert(validation(validator).write.validationResponse([hashOf('none'), 1, '', zeroHash, '']), 'unknown')
    await expectRevert(validation(validator).read.getValidationStatus([hashOf('none')]), 'unknown')
  })

  it('"not validator" (checked before the range) and "resp>100"', async () => {
    const [, alice, mallory, validator] = chain.wallets
    await request(alice, validator.account.address, 0n, 'job')
    await expectRevert(
      validation(mallory).write.validationResponse([hashOf('job'), 101, '', zeroHash, '']),
      'not validator'
    )
    await expectRevert(
      validation(validator).write.validationResponse([hashOf('job'), 101, '', zeroHash, '']),
      'resp>100'
    )
  })
})
