import {
  type Address,
  encodeFunctionData,
  getContract,
  type Hex,
  keccak256,
  parseEventLogs,
  type TransactionReceipt,
  toHex,
  zeroAddress
} from 'viem'
import type { HDAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import {
  AGENT_WALLET_MAX_DEADLINE_SECONDS,
  AGENT_WALLET_METADATA_KEY,
  AGENT_WALLET_SET_TYPES,
  agentWalletDomain,
  ERC8004_VERSION,
  identityRegistryAbi,
  identityRegistryBytecode
} from '../src/index.ts'
import { compileErc1271Wallet, deploy, expectRevert, mined, useChain, type Wallet } from './helpers.ts'

let address: Address
let walletAbi: ReturnType<typeof compileErc1271Wallet>
const chain = useChain(async ({ publicClient, wallets }) => {
  walletAbi = compileErc1271Wallet()
  address = await deploy(publicClient, wallets[0], { abi: identityRegistryAbi, bytecode: identityRegistryBytecode })
})

/** The registry as seen by `wallet`. */
const identity = (wallet: Wallet) =>
  getContract({ address, abi: identityRegistryAbi, client: { public: chain.publicClient, wallet } })

const events = (receipt: TransactionReceipt) => parseEventLogs({ abi: identityRegistryAbi, logs: receipt.logs })

/** Registers an agent (no URI) from `wallet` and returns its id. */
async function registerAgent(wallet: Wallet, uri = 'ipfs://agent'): Promise<bigint> {
  const { result } = await identity(wallet).simulate.register([uri], { account: wallet.account })
  await mined(chain.publicClient, identity(wallet).write.register([uri]))
  return result
}

async function latestTimestamp(): Promise<bigint> {
  return (await chain.publicClient.getBlock()).timestamp
}

/** The EIP-712 proof `setAgentWallet` needs, signed by `signer`. */
function walletProof(
  signer: HDAccount,
  message: { agentId: bigint; newWallet: Address; owner: Address; deadline: bigint }
): Promise<Hex> {
  return signer.signTypedData({
    domain: agentWalletDomain(31337, address),
    types: AGENT_WALLET_SET_TYPES,
    primaryType: 'AgentWalletSet',
    message
  })
}

describe('IdentityRegistry: ERC-721 surface', () => {
  it('is named AgentIdentity / AGENT, reports version 2.0.0 and the ERC-721 + ERC-4906 interfaces', async () => {
    const r = identity(chain.wallets[0])
    expect(await r.read.name()).toBe('AgentIdentity')
    expect(await r.read.symbol()).toBe('AGENT')
    expect(await r.read.getVersion()).toBe('2.0.0')
    expect(await r.read.getVersion()).toBe(ERC8004_VERSION)
    expect(await r.read.supportsInterface(['0x80ac58cd'])).toBe(true) // ERC-721
    expect(await r.read.supportsInterface(['0x49064906'])).toBe(true) // ERC-4906
    expect(await r.read.supportsInterface(['0xffffffff'])).toBe(false)
  })

  it('keeps the standard ERC-721 views and approvals working', async () => {
    const [, alice, bob, operator] = chain.wallets
    await registerAgent(alice)
    await registerAgent(alice)
    const r = identity(alice)
    expect(await r.read.balanceOf([alice.account.address])).toBe(2n)
    expect(await r.read.getApproved([0n])).toBe(zeroAddress)
    await mined(chain.publicClient, r.write.approve([bob.account.address, 0n]))
    expect(await r.read.getApproved([0n])).toBe(bob.account.address)
    expect(await r.read.isApprovedForAll([alice.account.address, operator.account.address])).toBe(false)
    await mined(chain.publicClient, r.write.setApprovalForAll([operator.account.address, true]))
    expect(await r.read.isApprovedForAll([alice.account.address, operator.account.address])).toBe(true)
    // The operator moves agent 1 with the data-carrying safeTransferFrom overload.
    await mined(
      chain.publicClient,
      identity(operator).write.safeTransferFrom([alice.account.address, bob.account.address, 1n, '0x1234'])
    )
    expect(await r.read.balanceOf([bob.account.address])).toBe(1n)
    expect(await r.read.ownerOf([1n])).toBe(bob.account.address)
    await expectRevert(r.read.tokenURI([9n]), 'ERC721NonexistentToken')
    await expectRevert(r.read.ownerOf([9n]), 'ERC721NonexistentToken')
    await expectRevert(
      identity(bob).write.transferFrom([alice.account.address, bob.account.address, 1n]),
      'ERC721IncorrectOwner'
    )
  })

  it('exposes the EIP-712 domain that agentWalletDomain() describes', async () => {
    const [, name, version, chainId, verifyingContract] = await identity(chain.wallets[0]).read.eip712Domain()
    const domain = agentWalletDomain(31337, address)
    expect({ name, version, chainId: Number(chainId), verifyingContract }).toEqual(domain)
  })
})

describe('IdentityRegistry: register', () => {
  it('register() mints id 0 without a URI: Transfer, Registered, MetadataSet(agentWallet = owner)', async () => {
    const [owner] = chain.wallets
    const r = identity(owner)
    expect((await r.simulate.register({ account: owner.account })).result).toBe(0n)
    const receipt = await mined(chain.publicClient, r.write.register())
    const logs = events(receipt)
    expect(logs.map((l) => l.eventName)).toEqual(['Transfer', 'Registered', 'MetadataSet'])
    expect(logs[0]?.args).toEqual({ from: zeroAddress, to: owner.account.address, tokenId: 0n })
    expect(logs[1]?.args).toEqual({ agentId: 0n, agentURI: '', owner: owner.account.address })
    expect(logs[2]?.args).toEqual({
      agentId: 0n,
      indexedMetadataKey: keccak256(toHex(AGENT_WALLET_METADATA_KEY)),
      metadataKey: AGENT_WALLET_METADATA_KEY,
      metadataValue: owner.account.address.toLowerCase()
    })
    expect(await r.read.ownerOf([0n])).toBe(owner.account.address)
    expect(await r.read.tokenURI([0n])).toBe('')
    expect(await r.read.getAgentWallet([0n])).toBe(owner.account.address)
    expect(await r.read.getMetadata([0n, AGENT_WALLET_METADATA_KEY])).toBe(owner.account.address.toLowerCase())
  })

  it('register(agentURI) stores the URI: Transfer, MetadataUpdate, Registered, MetadataSet; ids count up', async () => {
    const [, alice, bob] = chain.wallets
    const receipt = await mined(chain.publicClient, identity(alice).write.register(['ipfs://a']))
    expect(events(receipt).map((l) => l.eventName)).toEqual(['Transfer', 'MetadataUpdate', 'Registered', 'MetadataSet'])
    expect(events(receipt)[2]?.args).toEqual({ agentId: 0n, agentURI: 'ipfs://a', owner: alice.account.address })
    expect(await registerAgent(bob, 'ipfs://b')).toBe(1n)
    expect(await identity(bob).read.tokenURI([0n])).toBe('ipfs://a')
    expect(await identity(bob).read.tokenURI([1n])).toBe('ipfs://b')
    expect(await identity(bob).read.ownerOf([1n])).toBe(bob.account.address)
  })

  it('register(agentURI, metadata) stores every entry and emits MetadataSet for each after agentWallet', async () => {
    const [, alice] = chain.wallets
    const entries = [
      { metadataKey: 'name', metadataValue: toHex('Alice bot') },
      { metadataKey: 'x402', metadataValue: '0x01' }
    ] as const
    const r = identity(alice)
    expect(
      (await r.simulate.register(['data:application/json;base64,e30=', entries], { account: alice.account })).result
    ).toBe(0n)
    const receipt = await mined(chain.publicClient, r.write.register(['data:application/json;base64,e30=', entries]))
    const logs = events(receipt)
    expect(logs.map((l) => l.eventName)).toEqual([
      'Transfer',
      'MetadataUpdate',
      'Registered',
      'MetadataSet',
      'MetadataSet',
      'MetadataSet'
    ])
    const sets = logs.filter((l) => l.eventName === 'MetadataSet').map((l) => l.args)
    expect(sets.map((a) => a.metadataKey)).toEqual([AGENT_WALLET_METADATA_KEY, 'name', 'x402'])
    expect(sets[1]).toMatchObject({ indexedMetadataKey: keccak256(toHex('name')), metadataValue: toHex('Alice bot') })
    expect(await r.read.getMetadata([0n, 'name'])).toBe(toHex('Alice bot'))
    expect(await r.read.getMetadata([0n, 'x402'])).toBe('0x01')
    expect(await r.read.getMetadata([0n, 'unset'])).toBe('0x')
  })

  it('rejects the reserved agentWallet key in the metadata array', async () => {
    const [, alice] = chain.wallets
    await expectRevert(
      identity(alice).write.register(['ipfs://a', [{ metadataKey: AGENT_WALLET_METADATA_KEY, metadataValue: '0x01' }]]),
      'reserved key'
    )
  })

  it('mints safely: a contract without onERC721Received cannot register', async () => {
    const [, alice] = chain.wallets
    const contract = await deploy(chain.publicClient, alice, { ...walletAbi, args: [alice.account.address] })
    const data = encodeFunctionData({ abi: identityRegistryAbi, functionName: 'register', args: [] })
    const execute = alice.writeContract({
      address: contract,
      abi: walletAbi.abi,
      functionName: 'execute',
      args: [address, data]
    })
    await expectRevert(execute, 'ERC721InvalidReceiver')
  })
})

describe('IdentityRegistry: agentURI and metadata', () => {
  it('setAgentURI by the owner replaces the URI and emits MetadataUpdate + URIUpdated', async () => {
    const [, alice] = chain.wallets
    await registerAgent(alice)
    const receipt = await mined(chain.publicClient, identity(alice).write.setAgentURI([0n, 'ipfs://v2']))
    const logs = events(receipt)
    expect(logs.map((l) => l.eventName)).toEqual(['MetadataUpdate', 'URIUpdated'])
    expect(logs[1]?.args).toEqual({ agentId: 0n, newURI: 'ipfs://v2', updatedBy: alice.account.address })
    expect(await identity(alice).read.tokenURI([0n])).toBe('ipfs://v2')
  })

  it('setAgentURI reverts for a non-owner and for an unknown agent', async () => {
    const [, alice, mallory] = chain.wallets
    await registerAgent(alice)
    await expectRevert(identity(mallory).write.setAgentURI([0n, 'ipfs://evil']), 'Not authorized')
    await expectRevert(identity(alice).write.setAgentURI([7n, 'ipfs://x']), 'ERC721NonexistentToken')
  })

  it('setMetadata by the owner writes and emits MetadataSet; overwrites keep the last value', async () => {
    const [, alice] = chain.wallets
    await registerAgent(alice)
    const receipt = await mined(chain.publicClient, identity(alice).write.setMetadata([0n, 'k', '0xaa']))
    expect(events(receipt).map((l) => [l.eventName, l.args])).toEqual([
      [
        'MetadataSet',
        { agentId: 0n, indexedMetadataKey: keccak256(toHex('k')), metadataKey: 'k', metadataValue: '0xaa' }
      ]
    ])
    await mined(chain.publicClient, identity(alice).write.setMetadata([0n, 'k', '0xbbcc']))
    expect(await identity(alice).read.getMetadata([0n, 'k'])).toBe('0xbbcc')
  })

  it('setMetadata rejects the reserved key, non-owners and unknown agents', async () => {
    const [, alice, mallory] = chain.wallets
    await registerAgent(alice)
    await expectRevert(identity(alice).write.setMetadata([0n, AGENT_WALLET_METADATA_KEY, '0x01']), 'reserved key')
    await expectRevert(identity(mallory).write.setMetadata([0n, 'k', '0x01']), 'Not authorized')
    await expectRevert(identity(alice).write.setMetadata([9n, 'k', '0x01']), 'ERC721NonexistentToken')
  })
})

describe('IdentityRegistry: operators', () => {
  it('isAuthorizedOrOwner: owner yes, stranger no, unknown agent reverts', async () => {
    const [, alice, mallory] = chain.wallets
    await registerAgent(alice)
    const r = identity(alice)
    expect(await r.read.isAuthorizedOrOwner([alice.account.address, 0n])).toBe(true)
    expect(await r.read.isAuthorizedOrOwner([mallory.account.address, 0n])).toBe(false)
    expect(await r.read.isAuthorizedOrOwner([zeroAddress, 0n])).toBe(false)
    await expectRevert(r.read.isAuthorizedOrOwner([alice.account.address, 1n]), 'ERC721NonexistentToken')
  })

  it('a token-approved operator can set the URI, metadata and wallet', async () => {
    const [, alice, operator, , newWallet] = chain.wallets
    await registerAgent(alice)
    await mined(chain.publicClient, identity(alice).write.approve([operator.account.address, 0n]))
    const r = identity(operator)
    expect(await r.read.isAuthorizedOrOwner([operator.account.address, 0n])).toBe(true)
    await mined(chain.publicClient, r.write.setAgentURI([0n, 'ipfs://by-operator']))
    await mined(chain.publicClient, r.write.setMetadata([0n, 'k', '0x02']))
    const deadline = (await latestTimestamp()) + 60n
    const message = { agentId: 0n, newWallet: newWallet.account.address, owner: alice.account.address, deadline }
    const signature = await walletProof(newWallet.account, message)
    await mined(chain.publicClient, r.write.setAgentWallet([0n, newWallet.account.address, deadline, signature]))
    expect(await r.read.tokenURI([0n])).toBe('ipfs://by-operator')
    expect(await r.read.getMetadata([0n, 'k'])).toBe('0x02')
    expect(await r.read.getAgentWallet([0n])).toBe(newWallet.account.address)
  })

  it('an operator approved for all can act, and loses the right when the approval is revoked', async () => {
    const [, alice, operator] = chain.wallets
    await registerAgent(alice)
    await mined(chain.publicClient, identity(alice).write.setApprovalForAll([operator.account.address, true]))
    expect(await identity(alice).read.isAuthorizedOrOwner([operator.account.address, 0n])).toBe(true)
    await mined(chain.publicClient, identity(operator).write.setMetadata([0n, 'k', '0x03']))
    await mined(chain.publicClient, identity(operator).write.unsetAgentWallet([0n]))
    await mined(chain.publicClient, identity(alice).write.setApprovalForAll([operator.account.address, false]))
    expect(await identity(alice).read.isAuthorizedOrOwner([operator.account.address, 0n])).toBe(false)
    await expectRevert(identity(operator).write.setMetadata([0n, 'k', '0x04']), 'Not authorized')
  })
})

describe('IdentityRegistry: agentWallet', () => {
  it('setAgentWallet accepts an EIP-712 proof from the new wallet and emits MetadataSet', async () => {
    const [, alice, , , newWallet] = chain.wallets
    await registerAgent(alice)
    const deadline = (await latestTimestamp()) + 120n
    const message = { agentId: 0n, newWallet: newWallet.account.address, owner: alice.account.address, deadline }
    const signature = await walletProof(newWallet.account, message)
    const receipt = await mined(
      chain.publicClient,
      identity(alice).write.setAgentWallet([0n, newWallet.account.address, deadline, signature])
    )
    expect(events(receipt).map((l) => [l.eventName, l.args])).toEqual([
      [
        'MetadataSet',
        {
          agentId: 0n,
          indexedMetadataKey: keccak256(toHex(AGENT_WALLET_METADATA_KEY)),
          metadataKey: AGENT_WALLET_METADATA_KEY,
          metadataValue: newWallet.account.address.toLowerCase()
        }
      ]
    ])
    expect(await identity(alice).read.getAgentWallet([0n])).toBe(newWallet.account.address)
  })

  it('accepts a deadline exactly MAX ahead of the block time', async () => {
    const [, alice, , , newWallet] = chain.wallets
    await registerAgent(alice)
    const next = (await latestTimestamp()) + 10n
    const deadline = next + BigInt(AGENT_WALLET_MAX_DEADLINE_SECONDS)
    const message = { agentId: 0n, newWallet: newWallet.account.address, owner: alice.account.address, deadline }
    const signature = await walletProof(newWallet.account, message)
    await chain.testClient.setNextBlockTimestamp({ timestamp: next })
    await mined(
      chain.publicClient,
      identity(alice).write.setAgentWallet([0n, newWallet.account.address, deadline, signature], { gas: 200_000n })
    )
    expect(await identity(alice).read.getAgentWallet([0n])).toBe(newWallet.account.address)
  })

  it('rejects a proof from another key, or one bound to another owner or agent', async () => {
    const [, alice, mallory, , newWallet] = chain.wallets
    await registerAgent(alice)
    const deadline = (await latestTimestamp()) + 120n
    const good = { agentId: 0n, newWallet: newWallet.account.address, owner: alice.account.address, deadline }
    const call = (signature: Hex) =>
      identity(alice).write.setAgentWallet([0n, newWallet.account.address, deadline, signature])
    await expectRevert(call(await walletProof(mallory.account, good)), 'invalid wallet sig')
    await expectRevert(
      call(await walletProof(newWallet.account, { ...good, owner: mallory.account.address })),
      'invalid wallet sig'
    )
    await expectRevert(call(await walletProof(newWallet.account, { ...good, agentId: 1n })), 'invalid wallet sig')
    await expectRevert(call('0x1234'), 'invalid wallet sig')
  })

  it('rejects an expired deadline and one more than 5 minutes ahead', async () => {
    const [, alice, , , newWallet] = chain.wallets
    await registerAgent(alice)
    const now = await latestTimestamp()
    const sign = (deadline: bigint) =>
      walletProof(newWallet.account, {
        agentId: 0n,
        newWallet: newWallet.account.address,
        owner: alice.account.address,
        deadline
      })
    const expired = now - 10n
    const tooFar = now + 3600n
    await expectRevert(
      identity(alice).write.setAgentWallet([0n, newWallet.account.address, expired, await sign(expired)]),
      'expired'
    )
    await expectRevert(
      identity(alice).write.setAgentWallet([0n, newWallet.account.address, tooFar, await sign(tooFar)]),
      'deadline too far'
    )
  })

  it('rejects a caller that is neither owner nor operator, the zero wallet, and unknown agents', async () => {
    const [, alice, mallory, , newWallet] = chain.wallets
    await registerAgent(alice)
    const deadline = (await latestTimestamp()) + 120n
    const message = { agentId: 0n, newWallet: newWallet.account.address, owner: alice.account.address, deadline }
    const signature = await walletProof(newWallet.account, message)
    await expectRevert(
      identity(mallory).write.setAgentWallet([0n, newWallet.account.address, deadline, signature]),
      'Not authorized'
    )
    await expectRevert(identity(alice).write.setAgentWallet([0n, zeroAddress, deadline, signature]), 'bad wallet')
    await expectRevert(
      identity(alice).write.setAgentWallet([5n, newWallet.account.address, deadline, signature]),
      'ERC721NonexistentToken'
    )
  })

  it('falls back to ERC-1271 for a contract wallet', async () => {
    const [, alice, mallory, walletOwner] = chain.wallets
    await registerAgent(alice)
    const contract = await deploy(chain.publicClient, alice, { ...walletAbi, args: [walletOwner.account.address] })
    const deadline = (await latestTimestamp()) + 120n
    const message = { agentId: 0n, newWallet: contract, owner: alice.account.address, deadline }
    await expectRevert(
      identity(alice).write.setAgentWallet([0n, contract, deadline, await walletProof(mallory.account, message)]),
      'invalid wallet sig'
    )
    const signature = await walletProof(walletOwner.account, message)
    await mined(chain.publicClient, identity(alice).write.setAgentWallet([0n, contract, deadline, signature]))
    expect(await identity(alice).read.getAgentWallet([0n])).toBe(contract)
  })

  it('unsetAgentWallet clears it (owner or operator only)', async () => {
    const [, alice, mallory] = chain.wallets
    await registerAgent(alice)
    await expectRevert(identity(mallory).write.unsetAgentWallet([0n]), 'Not authorized')
    const receipt = await mined(chain.publicClient, identity(alice).write.unsetAgentWallet([0n]))
    expect(events(receipt).map((l) => [l.eventName, l.args])).toEqual([
      [
        'MetadataSet',
        {
          agentId: 0n,
          indexedMetadataKey: keccak256(toHex(AGENT_WALLET_METADATA_KEY)),
          metadataKey: AGENT_WALLET_METADATA_KEY,
          metadataValue: '0x'
        }
      ]
    ])
    expect(await identity(alice).read.getAgentWallet([0n])).toBe(zeroAddress)
    expect(await identity(alice).read.getMetadata([0n, AGENT_WALLET_METADATA_KEY])).toBe('0x')
  })

  it('getAgentWallet is the zero address for an unknown agent', async () => {
    expect(await identity(chain.wallets[0]).read.getAgentWallet([42n])).toBe(zeroAddress)
  })

  it('a transfer clears the wallet and moves control to the new owner', async () => {
    const [, alice, bob, , newWallet] = chain.wallets
    await registerAgent(alice)
    const receipt = await mined(
      chain.publicClient,
      identity(alice).write.transferFrom([alice.account.address, bob.account.address, 0n])
    )
    const logs = events(receipt)
    expect(logs.map((l) => l.eventName)).toEqual(['Transfer', 'MetadataSet'])
    expect(logs[1]?.args).toMatchObject({ agentId: 0n, metadataKey: AGENT_WALLET_METADATA_KEY, metadataValue: '0x' })
    expect(await identity(bob).read.getAgentWallet([0n])).toBe(zeroAddress)
    expect(await identity(bob).read.isAuthorizedOrOwner([alice.account.address, 0n])).toBe(false)
    await expectRevert(identity(alice).write.setAgentURI([0n, 'ipfs://old-owner']), 'Not authorized')

    // A proof signed for the former owner no longer works; one for the new owner does.
    const deadline = (await latestTimestamp()) + 120n
    const stale = { agentId: 0n, newWallet: newWallet.account.address, owner: alice.account.address, deadline }
    await expectRevert(
      identity(bob).write.setAgentWallet([
        0n,
        newWallet.account.address,
        deadline,
        await walletProof(newWallet.account, stale)
      ]),
      'invalid wallet sig'
    )
    const fresh = { ...stale, owner: bob.account.address }
    await mined(
      chain.publicClient,
      identity(bob).write.setAgentWallet([
        0n,
        newWallet.account.address,
        deadline,
        await walletProof(newWallet.account, fresh)
      ])
    )
    expect(await identity(bob).read.getAgentWallet([0n])).toBe(newWallet.account.address)

    // A transfer with no wallet set emits no MetadataSet.
    await mined(chain.publicClient, identity(bob).write.unsetAgentWallet([0n]))
    const again = await mined(
      chain.publicClient,
      identity(bob).write.safeTransferFrom([bob.account.address, alice.account.address, 0n])
    )
    expect(events(again).map((l) => l.eventName)).toEqual(['Transfer'])
  })
})

// One test per revert reason of the official ERC-8004 v2.0.0 IdentityRegistryUpgradeable
// (erc-8004/erc-8004-contracts@b9e466c), pinning the exact string a client sees against the official deployments.
describe('IdentityRegistry: revert reasons of the reference implementation', () => {
  it('"Not authorized": setAgentURI, setMetadata, setAgentWallet and unsetAgentWallet by a stranger', async () => {
    const [, alice, mallory] = chain.wallets
    await registerAgent(alice)
    const m = identity(mallory)
    await expectRevert(m.write.setAgentURI([0n, 'ipfs://x']), 'Not authorized')
    await expectRevert(m.write.setMetadata([0n, 'k', '0x01']), 'Not authorized')
    await expectRevert(m.write.setAgentWallet([0n, mallory.account.address, 0n, '0x']), 'Not authorized')
    await expectRevert(m.write.unsetAgentWallet([0n]), 'Not authorized')
  })

  it('"reserved key": agentWallet through setMetadata or register', async () => {
    const [, alice] = chain.wallets
    await registerAgent(alice)
    await expectRevert(identity(alice).write.setMetadata([0n, AGENT_WALLET_METADATA_KEY, '0x01']), 'reserved key')
    await expectRevert(
      identity(alice).write.register([
        'ipfs://a',
        [{ metadataKey: AGENT_WALLET_METADATA_KEY, metadataValue: alice.account.address }]
      ]),
      'reserved key'
    )
  })

  it('"bad wallet": the zero address', async () => {
    const [, alice] = chain.wallets
    await registerAgent(alice)
    const deadline = (await latestTimestamp()) + 60n
    await expectRevert(identity(alice).write.setAgentWallet([0n, zeroAddress, deadline, '0x']), 'bad wallet')
  })

  it('"expired" and "deadline too far"', async () => {
    const [, alice, , , newWallet] = chain.wallets
    await registerAgent(alice)
    const now = await latestTimestamp()
    const w = newWallet.account.address
    await expectRevert(identity(alice).write.setAgentWallet([0n, w, now - 1n, '0x']), 'expired')
    await expectRevert(identity(alice).write.setAgentWallet([0n, w, now + 3600n, '0x']), 'deadline too far')
  })

  it('"invalid wallet sig": a forged proof (not our historic "invalid wallet signature")', async () => {
    const [, alice, mallory, , newWallet] = chain.wallets
    await registerAgent(alice)
    const deadline = (await latestTimestamp()) + 120n
    const message = { agentId: 0n, newWallet: newWallet.account.address, owner: alice.account.address, deadline }
    await expectRevert(
      identity(alice).write.setAgentWallet([
        0n,
        newWallet.account.address,
        deadline,
        await walletProof(mallory.account, message)
      ]),
      'invalid wallet sig'
    )
  })

  it('ERC721NonexistentToken: an unknown agent', async () => {
    const [, alice] = chain.wallets
    await expectRevert(identity(alice).write.setAgentURI([7n, 'ipfs://x']), 'ERC721NonexistentToken')
    await expectRevert(identity(alice).write.setMetadata([7n, 'k', '0x01']), 'ERC721NonexistentToken')
  })
})
