import { identityRegistryAbi } from '@betar/contracts'
import { type Devnet, startDevnet } from '@betar/devnet'
import { json } from '@helia/json'
import { CID } from 'multiformats/cid'
import { createPublicClient, createWalletClient, http, type LocalAccount, parseEventLogs } from 'viem'
import { toAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AgentFileUnavailableError,
  AgentNotFoundError,
  bindAgentWallet,
  buildRegistrationFile,
  DeadlineError,
  fetchAgentFile,
  formatAgentRegistry,
  InvalidRegistrationFileError,
  InvalidWalletSignatureError,
  libp2pServices,
  MAX_REGISTRATION_FILE_BYTES,
  NotAuthorizedError,
  RegistrationFileTooLargeError,
  type RegistryPublicClient,
  type RegistryWalletClient,
  readAgent,
  registerAgent,
  registrationFileDataUri,
  resolveAgent,
  storeRegistrationFile,
  UnsupportedAgentUriError,
  updateAgentURI,
  type VerifyReasonCode,
  verifyListing
} from '../src/index.ts'
import { createHeliaNode, type HeliaNode } from './fixtures/helia.ts'
import { makeListing } from './fixtures/listing.ts'

let devnet: Devnet
let nodeA: HeliaNode
let nodeB: HeliaNode
let publicClient: RegistryPublicClient
let owner: RegistryWalletClient
let stranger: RegistryWalletClient
let identityRegistry: `0x${string}`
let agentRegistry: string

function walletClientOf(account: LocalAccount): RegistryWalletClient {
  return createWalletClient({ account, chain: devnet.chain, transport: http(devnet.rpcUrl) })
}

function fileFor(node: HeliaNode, overrides: { active?: boolean } = {}) {
  return buildRegistrationFile({
    name: 'summarizer',
    description: 'Summarises text for USDC',
    peerId: node.libp2p.peerId,
    multiaddrs: node.libp2p.getMultiaddrs(),
    x402Support: true,
    ...overrides
  })
}

beforeAll(async () => {
  ;[devnet, nodeA, nodeB] = await Promise.all([startDevnet({ accounts: 4 }), createHeliaNode(), createHeliaNode()])
  const first = nodeA.libp2p.getMultiaddrs()[0]
  if (first == null) throw new Error('node A has no listen address')
  await nodeB.libp2p.dial(first)
  publicClient = createPublicClient({ chain: devnet.chain, transport: http(devnet.rpcUrl) })
  owner = walletClientOf(devnet.accounts[0]!.account)
  stranger = walletClientOf(devnet.accounts[3]!.account)
  identityRegistry = devnet.contracts.identityRegistry
  agentRegistry = formatAgentRegistry(devnet.chainId, identityRegistry)
}, 60_000)

afterAll(async () => {
  await Promise.all([nodeA?.stop(), nodeB?.stop()])
  await devnet?.stop()
})

describe('register and resolve over Helia', () => {
  it('registers, stores on node A, and node B resolves the file over bitswap', async () => {
    const file = fileFor(nodeA)
    const registered = await registerAgent({ walletClient: owner, publicClient, identityRegistry, file, helia: nodeA })
    expect(registered.uri).toBe(`ipfs://${registered.cid}`)
    expect(registered.file.registrations).toEqual([{ agentId: Number(registered.agentId), agentRegistry }])
    expect(await nodeA.blockstore.has(registered.cid)).toBe(true)
    expect(await nodeB.blockstore.has(registered.cid)).toBe(false)

    const agent = await resolveAgent({ publicClient, identityRegistry, agentId: registered.agentId, helia: nodeB })
    expect(await nodeB.blockstore.has(registered.cid)).toBe(true)
    expect(agent).toEqual({
      agentId: registered.agentId,
      owner: devnet.accounts[0]!.address,
      agentWallet: devnet.accounts[0]!.address,
      agentURI: registered.uri,
      file: registered.file
    })
    expect(libp2pServices(agent.file)[0]?.peerId).toBe(nodeA.libp2p.peerId.toString())

    const listing = makeListing(nodeA.libp2p.peerId.toString(), devnet.accounts[0]!.address.toLowerCase(), {
      agentId: registered.agentId.toString(),
      agentRegistry
    })
    const result = await verifyListing(listing, { publicClient, identityRegistry, helia: nodeB })
    expect(result).toEqual({ ok: true, agent })
    // the registry can also be taken from the listing itself
    expect((await verifyListing(listing, { publicClient, helia: nodeB })).ok).toBe(true)
  })

  it('reports a missing agent and an unset agentURI', async () => {
    await expect(resolveAgent({ publicClient, identityRegistry, agentId: 10_000n, helia: nodeB })).rejects.toThrow(
      AgentNotFoundError
    )
    const hash = await owner.writeContract({
      address: identityRegistry,
      abi: identityRegistryAbi,
      functionName: 'register',
      args: [],
      chain: devnet.chain
    })
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    const [event] = parseEventLogs({ abi: identityRegistryAbi, logs: receipt.logs, eventName: 'Registered' })
    const agentId = event!.args.agentId
    expect((await readAgent({ publicClient, identityRegistry, agentId })).agentURI).toBe('')
    await expect(resolveAgent({ publicClient, identityRegistry, agentId, helia: nodeB })).rejects.toThrow(
      AgentFileUnavailableError
    )
  })

  it('rejects oversized and invalid files stored on Helia, and refuses to store them', async () => {
    const valid = fileFor(nodeA)
    const big = await json(nodeA).add({ ...valid, pad: 'x'.repeat(MAX_REGISTRATION_FILE_BYTES) })
    await expect(fetchAgentFile(`ipfs://${big}`, { helia: nodeB })).rejects.toThrow(RegistrationFileTooLargeError)
    const invalid = await json(nodeA).add({ ...valid, services: 'none' })
    await expect(fetchAgentFile(`ipfs://${invalid}`, { helia: nodeB })).rejects.toThrow(InvalidRegistrationFileError)
    await expect(storeRegistrationFile(nodeA, { ...valid, pad: 'x'.repeat(70_000) })).rejects.toThrow(
      RegistrationFileTooLargeError
    )
    await expect(fetchAgentFile('ipfs://not-a-cid', { helia: nodeB })).rejects.toThrow(UnsupportedAgentUriError)
  })

  it('updates the agentURI to a data: URI and only the owner may', async () => {
    const { agentId, file } = await registerAgent({
      walletClient: owner,
      publicClient,
      identityRegistry,
      file: fileFor(nodeA),
      helia: nodeA
    })
    const uri = registrationFileDataUri(file)
    await updateAgentURI({ walletClient: owner, publicClient, identityRegistry, agentId, uri })
    const agent = await resolveAgent({ publicClient, identityRegistry, agentId })
    expect(agent.agentURI).toBe(uri)
    expect(agent.file).toEqual(file)
    await expect(
      updateAgentURI({ walletClient: stranger, publicClient, identityRegistry, agentId, uri: 'ipfs://x' })
    ).rejects.toThrow(NotAuthorizedError)
    await expect(
      updateAgentURI({ walletClient: owner, publicClient, identityRegistry, agentId: 10_000n, uri })
    ).rejects.toThrow(AgentNotFoundError)
  })
})

describe('agentWallet binding', () => {
  let agentId: bigint
  const wallet = () => devnet.accounts[1]!.account

  beforeAll(async () => {
    ;({ agentId } = await registerAgent({
      walletClient: owner,
      publicClient,
      identityRegistry,
      file: fileFor(nodeA),
      helia: nodeA
    }))
  })

  it('binds a wallet that signed the EIP-712 proof', async () => {
    const bound = await bindAgentWallet({
      walletClient: owner,
      publicClient,
      identityRegistry,
      agentId,
      wallet: wallet()
    })
    expect(bound.wallet).toBe(devnet.accounts[1]!.address)
    const agent = await resolveAgent({ publicClient, identityRegistry, agentId, helia: nodeB })
    expect(agent.agentWallet).toBe(devnet.accounts[1]!.address)
    expect(agent.owner).toBe(devnet.accounts[0]!.address)
  })

  it('maps a signature by another key ("invalid wallet sig", the reference wording) to InvalidWalletSignatureError', async () => {
    const impostor = devnet.accounts[2]!.account
    // claims account 1's address but signs with account 2's key
    const forged = toAccount({
      address: devnet.accounts[1]!.address,
      signMessage: (args) => impostor.signMessage(args),
      signTransaction: (tx) => impostor.signTransaction(tx),
      signTypedData: (data) => impostor.signTypedData(data)
    })
    await expect(
      bindAgentWallet({ walletClient: owner, publicClient, identityRegistry, agentId, wallet: forged })
    ).rejects.toThrow(InvalidWalletSignatureError)
    await expect(
      bindAgentWallet({ walletClient: owner, publicClient, identityRegistry, agentId, wallet: forged })
    ).rejects.toThrow(/reverted: invalid wallet sig$/)
  })

  it('maps a non-owner caller to NotAuthorizedError', async () => {
    await expect(
      bindAgentWallet({ walletClient: stranger, publicClient, identityRegistry, agentId, wallet: wallet() })
    ).rejects.toThrow(NotAuthorizedError)
  })

  it('maps too-far and past deadlines to DeadlineError', async () => {
    const now = (await publicClient.getBlock()).timestamp
    const base = { walletClient: owner, publicClient, identityRegistry, agentId, wallet: wallet() }
    await expect(bindAgentWallet({ ...base, deadline: now + 3600n })).rejects.toThrow(DeadlineError)
    await expect(bindAgentWallet({ ...base, deadline: now - 10n })).rejects.toThrow(DeadlineError)
    await expect(bindAgentWallet({ ...base, deadlineSeconds: 301 })).rejects.toThrow(DeadlineError)
  })

  it('maps an unknown agent to AgentNotFoundError', async () => {
    await expect(
      bindAgentWallet({ walletClient: owner, publicClient, identityRegistry, agentId: 10_000n, wallet: wallet() })
    ).rejects.toThrow(AgentNotFoundError)
  })
})

describe('verifyListing', () => {
  let agentId: bigint
  let seller: string
  const payTo = () => devnet.accounts[1]!.address
  const claim = () => ({ agentId: agentId.toString(), agentRegistry })

  async function codes(listing = makeListing(seller, payTo(), claim()), registry = identityRegistry) {
    const result = await verifyListing(listing, {
      publicClient,
      identityRegistry: registry,
      helia: nodeB,
      timeoutMs: 500
    })
    return result.ok ? [] : result.reasons.map((r) => r.code)
  }

  async function setFile(value: unknown): Promise<void> {
    const uri = `data:application/json;base64,${Buffer.from(JSON.stringify(value)).toString('base64')}`
    await updateAgentURI({ walletClient: owner, publicClient, identityRegistry, agentId, uri })
  }

  beforeAll(async () => {
    const registered = await registerAgent({
      walletClient: owner,
      publicClient,
      identityRegistry,
      file: fileFor(nodeA),
      helia: nodeA
    })
    agentId = registered.agentId
    seller = nodeA.libp2p.peerId.toString()
    await bindAgentWallet({
      walletClient: owner,
      publicClient,
      identityRegistry,
      agentId,
      wallet: devnet.accounts[1]!.account
    })
    expect(await codes()).toEqual([])
  })

  it('NOT_REGISTERED, REGISTRY_MISMATCH and AGENT_NOT_FOUND', async () => {
    expect(await codes(makeListing(seller, payTo()))).toEqual<VerifyReasonCode[]>(['NOT_REGISTERED'])
    const otherRegistry = devnet.contracts.reputationRegistry
    expect(await codes(undefined, otherRegistry)).toEqual(['REGISTRY_MISMATCH'])
    const otherChain = makeListing(seller, payTo(), {
      agentId: agentId.toString(),
      agentRegistry: formatAgentRegistry(1, identityRegistry)
    })
    expect(await codes(otherChain)).toEqual(['REGISTRY_MISMATCH'])
    expect(await codes(makeListing(seller, payTo(), { agentId: '10000', agentRegistry }))).toEqual(['AGENT_NOT_FOUND'])
  })

  it('PEER_NOT_IN_FILE and PAYTO_NOT_AGENT_WALLET', async () => {
    const otherPeer = nodeB.libp2p.peerId.toString()
    expect(await codes(makeListing(otherPeer, payTo(), claim()))).toEqual(['PEER_NOT_IN_FILE'])
    expect(await codes(makeListing(seller, devnet.accounts[0]!.address, claim()))).toEqual(['PAYTO_NOT_AGENT_WALLET'])
  })

  it('FILE_UNAVAILABLE for an unreachable CID and for https without fetch', async () => {
    const missing = CID.parse('bagaaierasords4njcts6vs7qvdjfcvgnume4hqohf65zsfguprqphs3icwea')
    await updateAgentURI({ walletClient: owner, publicClient, identityRegistry, agentId, uri: `ipfs://${missing}` })
    expect(await codes()).toEqual(['FILE_UNAVAILABLE'])
    await updateAgentURI({
      walletClient: owner,
      publicClient,
      identityRegistry,
      agentId,
      uri: 'https://agent.example/a.json'
    })
    expect(await codes()).toEqual(['FILE_UNAVAILABLE'])
  })

  it('FILE_INVALID, NOT_IN_REGISTRATIONS and INACTIVE', async () => {
    const good = { ...fileFor(nodeA), registrations: [{ agentId: Number(agentId), agentRegistry }] }
    await setFile({ ...good, type: 'not-8004' })
    expect(await codes()).toEqual(['FILE_INVALID'])
    await setFile({ ...good, registrations: [{ agentId: Number(agentId) + 1, agentRegistry }] })
    expect(await codes()).toEqual(['NOT_IN_REGISTRATIONS'])
    await setFile({ ...good, active: false })
    expect(await codes()).toEqual(['INACTIVE'])
    // legacy `endpoints` files still verify
    const { services, ...legacy } = good
    await setFile({ ...legacy, endpoints: services })
    expect(await codes()).toEqual([])
    expect(
      (await fetchAgentFile((await resolveAgent({ publicClient, identityRegistry, agentId })).agentURI)).services
    ).toEqual(services)
  })

  it('WALLET_UNSET, reported together with the file mismatches', async () => {
    await owner
      .writeContract({
        address: identityRegistry,
        abi: identityRegistryAbi,
        functionName: 'unsetAgentWallet',
        args: [agentId],
        chain: devnet.chain
      })
      .then((hash) => publicClient.waitForTransactionReceipt({ hash }))
    expect(await codes()).toEqual(['WALLET_UNSET'])
    await setFile({ ...fileFor(nodeA), active: false })
    expect((await codes()).sort()).toEqual(['INACTIVE', 'NOT_IN_REGISTRATIONS', 'WALLET_UNSET'])
  })
})
