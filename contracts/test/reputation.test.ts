import { type Address, getContract, keccak256, parseEventLogs, toHex, zeroAddress, zeroHash } from 'viem'
import { describe, expect, it } from 'vitest'
import { deployErc8004Registries, identityRegistryAbi, reputationRegistryAbi } from '../src/index.ts'
import { expectRevert, mined, useChain, type Wallet } from './helpers.ts'

let identityAddress: Address
let reputationAddress: Address

// Accounts: 0 deploys; 1 (alice) owns agent 0 and 1; 2 (bob), 3 (carol) are clients; 4 is an operator; 5 (dave) responds.
const chain = useChain(async ({ publicClient, wallets }) => {
  const deployed = await deployErc8004Registries({ walletClient: wallets[0], publicClient })
  identityAddress = deployed.identityRegistry
  reputationAddress = deployed.reputationRegistry
  const alice = wallets[1]
  const identity = getContract({ address: identityAddress, abi: identityRegistryAbi, client: alice })
  await mined(publicClient, identity.write.register(['ipfs://agent-0']))
  await mined(publicClient, identity.write.register(['ipfs://agent-1']))
})

const reputation = (wallet: Wallet) =>
  getContract({
    address: reputationAddress,
    abi: reputationRegistryAbi,
    client: { public: chain.publicClient, wallet }
  })

const identity = (wallet: Wallet) =>
  getContract({ address: identityAddress, abi: identityRegistryAbi, client: { public: chain.publicClient, wallet } })

/** Gives feedback with only value, decimals and tags set. */
async function rate(wallet: Wallet, agentId: bigint, value: bigint, decimals: number, tag1 = '', tag2 = '') {
  return mined(
    chain.publicClient,
    reputation(wallet).write.giveFeedback([agentId, value, decimals, tag1, tag2, '', '', zeroHash])
  )
}

describe('ReputationRegistry: giveFeedback', () => {
  it('knows its Identity Registry', async () => {
    expect(await reputation(chain.wallets[0]).read.getIdentityRegistry()).toBe(identityAddress)
  })

  it('stores feedback with a 1-based index per (agent, client) and emits NewFeedback with every field', async () => {
    const [, , bob, carol] = chain.wallets
    const feedbackHash = keccak256(toHex('feedback file'))
    const receipt = await mined(
      chain.publicClient,
      reputation(bob).write.giveFeedback([
        0n,
        9977n,
        2,
        'uptime',
        'week',
        'https://agent.example/mcp',
        'ipfs://feedback',
        feedbackHash
      ])
    )
    const logs = parseEventLogs({ abi: reputationRegistryAbi, logs: receipt.logs })
    expect(logs.map((l) => [l.eventName, l.args])).toEqual([
      [
        'NewFeedback',
        {
          agentId: 0n,
          clientAddress: bob.account.address,
          feedbackIndex: 1n,
          value: 9977n,
          valueDecimals: 2,
          indexedTag1: keccak256(toHex('uptime')),
          tag1: 'uptime',
          tag2: 'week',
          endpoint: 'https://agent.example/mcp',
          feedbackURI: 'ipfs://feedback',
          feedbackHash
        }
      ]
    ])
    const r = reputation(bob)
    expect(await r.read.readFeedback([0n, bob.account.address, 1n])).toEqual([9977n, 2, 'uptime', 'week', false])

    const second = await rate(bob, 0n, -32n, 1, 'tradingYield', 'day')
    expect(parseEventLogs({ abi: reputationRegistryAbi, logs: second.logs })[0]?.args.feedbackIndex).toBe(2n)
    await rate(carol, 0n, 87n, 0, 'starred')
    await rate(bob, 1n, 1n, 0, 'reachable')
    expect(await r.read.getLastIndex([0n, bob.account.address])).toBe(2n)
    expect(await r.read.getLastIndex([0n, carol.account.address])).toBe(1n)
    expect(await r.read.getLastIndex([1n, bob.account.address])).toBe(1n)
    expect(await r.read.getLastIndex([1n, carol.account.address])).toBe(0n)
    expect(await r.read.getClients([0n])).toEqual([bob.account.address, carol.account.address])
    expect(await r.read.getClients([1n])).toEqual([bob.account.address])
    expect(await r.read.readFeedback([0n, bob.account.address, 2n])).toEqual([-32n, 1, 'tradingYield', 'day', false])
  })

  it('accepts valueDecimals up to 18 and rejects 19', async () => {
    const [, , bob] = chain.wallets
    await rate(bob, 0n, 1n, 18)
    await expectRevert(reputation(bob).write.giveFeedback([0n, 1n, 19, '', '', '', '', zeroHash]), 'too many decimals')
  })

  it('accepts |value| up to 1e38 and rejects anything larger', async () => {
    const [, , bob] = chain.wallets
    await rate(bob, 0n, 10n ** 38n, 0)
    await rate(bob, 0n, -(10n ** 38n), 0)
    for (const value of [10n ** 38n + 1n, -(10n ** 38n) - 1n, 2n ** 127n - 1n, -(2n ** 127n)]) {
      await expectRevert(
        reputation(bob).write.giveFeedback([0n, value, 0, '', '', '', '', zeroHash]),
        'value too large'
      )
    }
  })

  it('rejects self-feedback by the owner and by approved operators', async () => {
    const [, alice, , , operator, dave] = chain.wallets
    const give = (wallet: Wallet) => reputation(wallet).write.giveFeedback([0n, 100n, 0, '', '', '', '', zeroHash])
    await expectRevert(give(alice), 'Self-feedback not allowed')
    await mined(chain.publicClient, identity(alice).write.approve([operator.account.address, 0n]))
    await expectRevert(give(operator), 'Self-feedback not allowed')
    await mined(chain.publicClient, identity(alice).write.setApprovalForAll([dave.account.address, true]))
    await expectRevert(give(dave), 'Self-feedback not allowed')
  })

  it('checks self-feedback at submission only: a former owner may rate the agent after a transfer', async () => {
    const [, alice, , carol] = chain.wallets
    await mined(
      chain.publicClient,
      identity(alice).write.transferFrom([alice.account.address, carol.account.address, 0n])
    )
    await rate(alice, 0n, 5n, 0)
    expect(await reputation(alice).read.getClients([0n])).toEqual([alice.account.address])
    await expectRevert(
      reputation(carol).write.giveFeedback([0n, 1n, 0, '', '', '', '', zeroHash]),
      'Self-feedback not allowed'
    )
  })

  it('rejects feedback on an agent that does not exist', async () => {
    const [, , bob] = chain.wallets
    await expectRevert(
      reputation(bob).write.giveFeedback([99n, 1n, 0, '', '', '', '', zeroHash]),
      'ERC721NonexistentToken'
    )
  })
})

describe('ReputationRegistry: revokeFeedback', () => {
  it('lets the client revoke its own feedback once and emits FeedbackRevoked', async () => {
    const [, , bob] = chain.wallets
    await rate(bob, 0n, 80n, 0, 'starred')
    await rate(bob, 0n, 90n, 0, 'starred')
    const receipt = await mined(chain.publicClient, reputation(bob).write.revokeFeedback([0n, 2n]))
    expect(
      parseEventLogs({ abi: reputationRegistryAbi, logs: receipt.logs }).map((l) => [l.eventName, l.args])
    ).toEqual([['FeedbackRevoked', { agentId: 0n, clientAddress: bob.account.address, feedbackIndex: 2n }]])
    expect(await reputation(bob).read.readFeedback([0n, bob.account.address, 2n])).toEqual([
      90n,
      0,
      'starred',
      '',
      true
    ])
    expect((await reputation(bob).read.readFeedback([0n, bob.account.address, 1n]))[4]).toBe(false)
    await expectRevert(reputation(bob).write.revokeFeedback([0n, 2n]), 'Already revoked')
  })

  it('rejects index 0, an index past the last, and anyone but the client', async () => {
    const [, alice, bob, carol] = chain.wallets
    await rate(bob, 0n, 80n, 0)
    await expectRevert(reputation(bob).write.revokeFeedback([0n, 0n]), 'index must be > 0')
    await expectRevert(reputation(bob).write.revokeFeedback([0n, 2n]), 'index out of bounds')
    await expectRevert(reputation(carol).write.revokeFeedback([0n, 1n]), 'index out of bounds')
    await expectRevert(reputation(alice).write.revokeFeedback([0n, 1n]), 'index out of bounds')
    expect((await reputation(bob).read.readFeedback([0n, bob.account.address, 1n]))[4]).toBe(false)
  })
})

describe('ReputationRegistry: responses', () => {
  it('appendResponse is open to anyone (revoked feedback included) and emits ResponseAppended', async () => {
    const [, alice, bob, , , dave] = chain.wallets
    await rate(bob, 0n, 10n, 0)
    const responseHash = keccak256(toHex('refund'))
    const receipt = await mined(
      chain.publicClient,
      reputation(alice).write.appendResponse([0n, bob.account.address, 1n, 'ipfs://refund', responseHash])
    )
    expect(
      parseEventLogs({ abi: reputationRegistryAbi, logs: receipt.logs }).map((l) => [l.eventName, l.args])
    ).toEqual([
      [
        'ResponseAppended',
        {
          agentId: 0n,
          clientAddress: bob.account.address,
          feedbackIndex: 1n,
          responder: alice.account.address,
          responseURI: 'ipfs://refund',
          responseHash
        }
      ]
    ])
    await mined(chain.publicClient, reputation(bob).write.revokeFeedback([0n, 1n]))
    await mined(
      chain.publicClient,
      reputation(dave).write.appendResponse([0n, bob.account.address, 1n, 'ipfs://spam-tag', zeroHash])
    )
    expect(await reputation(dave).read.getResponseCount([0n, bob.account.address, 1n, []])).toBe(2n)
  })

  it('rejects an empty URI and a feedback that does not exist', async () => {
    const [, alice, bob, carol] = chain.wallets
    await rate(bob, 0n, 10n, 0)
    const r = reputation(alice)
    await expectRevert(r.write.appendResponse([0n, bob.account.address, 1n, '', zeroHash]), 'Empty URI')
    // Index 0 is checked before the URI, as in the reference.
    await expectRevert(r.write.appendResponse([0n, bob.account.address, 0n, '', zeroHash]), 'index must be > 0')
    await expectRevert(r.write.appendResponse([0n, bob.account.address, 0n, 'ipfs://r', zeroHash]), 'index must be > 0')
    await expectRevert(
      r.write.appendResponse([0n, bob.account.address, 2n, 'ipfs://r', zeroHash]),
      'index out of bounds'
    )
    await expectRevert(
      r.write.appendResponse([0n, carol.account.address, 1n, 'ipfs://r', zeroHash]),
      'index out of bounds'
    )
    await expectRevert(
      r.write.appendResponse([1n, bob.account.address, 1n, 'ipfs://r', zeroHash]),
      'index out of bounds'
    )
  })

  it('getResponseCount filters by client (0 = all, index ignored), index (0 = all) and responders ([] = all)', async () => {
    const [, alice, bob, carol, , dave] = chain.wallets
    await rate(bob, 0n, 10n, 0) // bob #1
    await rate(bob, 0n, 20n, 0) // bob #2
    await rate(carol, 0n, 30n, 0) // carol #1
    await rate(carol, 1n, 40n, 0) // other agent
    const respond = (wallet: Wallet, agentId: bigint, client: Address, index: bigint) =>
      mined(chain.publicClient, reputation(wallet).write.appendResponse([agentId, client, index, 'ipfs://r', zeroHash]))
    await respond(alice, 0n, bob.account.address, 1n)
    await respond(alice, 0n, bob.account.address, 1n)
    await respond(dave, 0n, bob.account.address, 1n)
    await respond(dave, 0n, bob.account.address, 2n)
    await respond(alice, 0n, carol.account.address, 1n)
    await respond(alice, 1n, carol.account.address, 1n)

    const count = (client: Address, index: bigint, responders: Address[]) =>
      reputation(alice).read.getResponseCount([0n, client, index, responders])
    const a = alice.account.address
    const d = dave.account.address
    expect(await count(bob.account.address, 1n, [])).toBe(3n)
    expect(await count(bob.account.address, 1n, [a])).toBe(2n)
    expect(await count(bob.account.address, 1n, [d])).toBe(1n)
    expect(await count(bob.account.address, 1n, [a, d])).toBe(3n)
    expect(await count(bob.account.address, 1n, [carol.account.address])).toBe(0n)
    expect(await count(bob.account.address, 0n, [])).toBe(4n)
    expect(await count(bob.account.address, 0n, [d])).toBe(2n)
    expect(await count(bob.account.address, 3n, [])).toBe(0n)
    expect(await count(zeroAddress, 0n, [])).toBe(5n)
    expect(await count(zeroAddress, 0n, [a])).toBe(3n)
    // As in the reference: client 0 counts every client's every index, whatever feedbackIndex says.
    expect(await count(zeroAddress, 1n, [])).toBe(5n)
    expect(await count(zeroAddress, 2n, [])).toBe(5n)
    expect(await count(zeroAddress, 99n, [d])).toBe(2n)
    expect(await count(dave.account.address, 0n, [])).toBe(0n)
  })
})

describe('ReputationRegistry: reads', () => {
  it('readFeedback rejects index 0 and an index past the last', async () => {
    const [, , bob] = chain.wallets
    await rate(bob, 0n, 10n, 0)
    await expectRevert(reputation(bob).read.readFeedback([0n, bob.account.address, 0n]), 'index must be > 0')
    await expectRevert(reputation(bob).read.readFeedback([0n, bob.account.address, 2n]), 'index out of bounds')
  })

  it('reads nothing for an agent without feedback', async () => {
    const r = reputation(chain.wallets[0])
    expect(await r.read.getClients([1n])).toEqual([])
    expect(await r.read.getLastIndex([1n, chain.wallets[2].account.address])).toBe(0n)
    expect(await r.read.readAllFeedback([1n, [], '', '', true])).toEqual([[], [], [], [], [], [], []])
    expect(await r.read.getResponseCount([1n, zeroAddress, 0n, []])).toBe(0n)
    expect(await r.read.getSummary([1n, [chain.wallets[2].account.address], '', ''])).toEqual([0n, 0n, 0])
  })

  it('readAllFeedback: all clients by default, client and tag filters, revoked only on request', async () => {
    const [, , bob, carol] = chain.wallets
    const b = bob.account.address
    const c = carol.account.address
    await rate(bob, 0n, 87n, 0, 'starred', 'quality') // b#1
    await rate(bob, 0n, 9977n, 2, 'uptime', 'week') // b#2
    await rate(carol, 0n, 60n, 0, 'starred', 'speed') // c#1
    await rate(carol, 0n, 70n, 0, 'starred', 'quality') // c#2, revoked below
    await mined(chain.publicClient, reputation(carol).write.revokeFeedback([0n, 2n]))
    const r = reputation(bob)

    expect(await r.read.readAllFeedback([0n, [], '', '', false])).toEqual([
      [b, b, c],
      [1n, 2n, 1n],
      [87n, 9977n, 60n],
      [0, 2, 0],
      ['starred', 'uptime', 'starred'],
      ['quality', 'week', 'speed'],
      [false, false, false]
    ])
    expect(await r.read.readAllFeedback([0n, [], '', '', true])).toEqual([
      [b, b, c, c],
      [1n, 2n, 1n, 2n],
      [87n, 9977n, 60n, 70n],
      [0, 2, 0, 0],
      ['starred', 'uptime', 'starred', 'starred'],
      ['quality', 'week', 'speed', 'quality'],
      [false, false, false, true]
    ])
    const [clients, indexes] = await r.read.readAllFeedback([0n, [c], '', '', true])
    expect([clients, indexes]).toEqual([
      [c, c],
      [1n, 2n]
    ])
    expect((await r.read.readAllFeedback([0n, [], 'starred', '', false]))[2]).toEqual([87n, 60n])
    expect((await r.read.readAllFeedback([0n, [], '', 'quality', true]))[2]).toEqual([87n, 70n])
    expect((await r.read.readAllFeedback([0n, [], 'starred', 'quality', false]))[2]).toEqual([87n])
    expect((await r.read.readAllFeedback([0n, [b, c], 'missing', '', true]))[0]).toEqual([])
  })
})

describe('ReputationRegistry: getSummary', () => {
  it('requires a non-empty client list', async () => {
    await expectRevert(reputation(chain.wallets[2]).read.getSummary([0n, [], '', '']), 'clientAddresses required')
  })

  it('averages in 18 decimals and rescales to the most frequent decimals, ties to the fewest', async () => {
    const [, , bob, carol] = chain.wallets
    const b = bob.account.address
    const c = carol.account.address
    // The spec's probe: 87/100 starred and 99.77% uptime average to 93.385, reported with 0 decimals (tie 0 vs 2).
    await rate(bob, 0n, 87n, 0, 'starred')
    await rate(bob, 0n, 9977n, 2, 'uptime')
    const r = reputation(bob)
    expect(await r.read.getSummary([0n, [b], '', ''])).toEqual([2n, 93n, 0])
    // A second 2-decimal value makes 2 the mode: (87 + 99.77 + 99.00) / 3 = 95.2566… → 9525 with 2 decimals.
    await rate(carol, 0n, 9900n, 2, 'uptime')
    expect(await r.read.getSummary([0n, [b, c], '', ''])).toEqual([3n, 9525n, 2])
    // Tag filters.
    expect(await r.read.getSummary([0n, [b, c], 'uptime', ''])).toEqual([2n, 9938n, 2])
    expect(await r.read.getSummary([0n, [b, c], 'starred', ''])).toEqual([1n, 87n, 0])
    expect(await r.read.getSummary([0n, [c], 'starred', ''])).toEqual([0n, 0n, 0])
  })

  it('filters by tag2, ignores revoked entries and truncates toward zero', async () => {
    const [, , bob, carol] = chain.wallets
    const b = bob.account.address
    const c = carol.account.address
    await rate(bob, 0n, -32n, 1, 'tradingYield', 'day')
    await rate(carol, 0n, -1n, 1, 'tradingYield', 'day')
    await rate(carol, 0n, 500n, 1, 'tradingYield', 'week')
    const r = reputation(bob)
    // (-3.2 + -0.1) / 2 = -1.65 → -16 with 1 decimal (toward zero).
    expect(await r.read.getSummary([0n, [b, c], 'tradingYield', 'day'])).toEqual([2n, -16n, 1])
    expect(await r.read.getSummary([0n, [b, c], '', 'week'])).toEqual([1n, 500n, 1])
    await mined(chain.publicClient, reputation(carol).write.revokeFeedback([0n, 1n]))
    expect(await r.read.getSummary([0n, [b, c], '', 'day'])).toEqual([1n, -32n, 1])
    expect(await r.read.getSummary([0n, [c], '', ''])).toEqual([1n, 500n, 1])
  })

  it('handles extreme values without overflow', async () => {
    const [, , bob, carol] = chain.wallets
    await rate(bob, 0n, 10n ** 38n, 0)
    await rate(carol, 0n, 10n ** 38n, 18)
    // (1e38 + 1e20) / 2 in 18 decimals, reported with 0 decimals (tie).
    expect(await reputation(bob).read.getSummary([0n, [bob.account.address, carol.account.address], '', ''])).toEqual([
      2n,
      (10n ** 38n + 10n ** 20n) / 2n,
      0
    ])
  })
})

// One test per revert reason of the official ERC-8004 v2.0.0 ReputationRegistryUpgradeable
// (erc-8004/erc-8004-contracts@b9e466c), pinning the exact string and the order of the checks.
describe('ReputationRegistry: revert reasons of the reference implementation', () => {
  it('getVersion() is "2.0.0"', async () => {
    expect(await reputation(chain.wallets[0]).read.getVersion()).toBe('2.0.0')
  })

  it('"too many decimals" (checked before the value)', async () => {
    const [, , bob] = chain.wallets
    const huge = 10n ** 38n + 1n
    await expectRevert(
      reputation(bob).write.giveFeedback([0n, huge, 19, '', '', '', '', zeroHash]),
      'too many decimals'
    )
  })

  it('"value too large"', async () => {
    const [, , bob] = chain.wallets
    await expectRevert(
      reputation(bob).write.giveFeedback([0n, -(10n ** 38n) - 1n, 0, '', '', '', '', zeroHash]),
      'value too large'
    )
  })

  it('"Self-feedback not allowed"', async () => {
    const [, alice] = chain.wallets
    await expectRevert(
      reputation(alice).write.giveFeedback([0n, 1n, 0, '', '', '', '', zeroHash]),
      'Self-feedback not allowed'
    )
  })

  it('"index must be > 0": revokeFeedback, appendResponse (before the URI check) and readFeedback', async () => {
    const [, alice, bob] = chain.wallets
    await rate(bob, 0n, 1n, 0)
    await expectRevert(reputation(bob).write.revokeFeedback([0n, 0n]), 'index must be > 0')
    await expectRevert(
      reputation(alice).write.appendResponse([0n, bob.account.address, 0n, '', zeroHash]),
      'index must be > 0'
    )
    await expectRevert(reputation(bob).read.readFeedback([0n, bob.account.address, 0n]), 'index must be > 0')
  })

  it('"index out of bounds": revokeFeedback, appendResponse and readFeedback', async () => {
    const [, alice, bob] = chain.wallets
    await rate(bob, 0n, 1n, 0)
    await expectRevert(reputation(bob).write.revokeFeedback([0n, 2n]), 'index out of bounds')
    await expectRevert(
      reputation(alice).write.appendResponse([0n, bob.account.address, 2n, 'ipfs://r', zeroHash]),
      'index out of bounds'
    )
    await expectRevert(reputation(bob).read.readFeedback([0n, bob.account.address, 2n]), 'index out of bounds')
  })

  it('"Already revoked"', async () => {
    const [, , bob] = chain.wallets
    await rate(bob, 0n, 1n, 0)
    await mined(chain.publicClient, reputation(bob).write.revokeFeedback([0n, 1n]))
    await expectRevert(reputation(bob).write.revokeFeedback([0n, 1n]), 'Already revoked')
  })

  it('"Empty URI" (checked before the index bound)', async () => {
    const [, alice, bob] = chain.wallets
    await expectRevert(reputation(alice).write.appendResponse([0n, bob.account.address, 5n, '', zeroHash]), 'Empty URI')
  })

  it('"clientAddresses required"', async () => {
    await expectRevert(reputation(chain.wallets[0]).read.getSummary([0n, [], '', '']), 'clientAddresses required')
  })

  it('ERC721NonexistentToken: feedback on an unknown agent', async () => {
    const [, , bob] = chain.wallets
    await expectRevert(
      reputation(bob).write.giveFeedback([9n, 1n, 0, '', '', '', '', zeroHash]),
      'ERC721NonexistentToken'
    )
  })
})
