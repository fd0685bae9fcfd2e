import { identityRegistryAbi, reputationRegistryAbi, validationRegistryAbi } from '@betar/contracts'
import {
  type Chain,
  createPublicClient,
  createWalletClient,
  getAddress,
  http,
  type PublicClient,
  parseSignature,
  toHex
} from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Devnet, startDevnet, TRANSFER_WITH_AUTHORIZATION_TYPES, usdcAbi } from '../src/index.ts'

describe('startDevnet', () => {
  let devnet: Devnet
  let client: PublicClient

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 4 })
    client = createPublicClient({ chain: devnet.chain, transport: http(devnet.rpcUrl), pollingInterval: 10 })
  })
  afterAll(async () => {
    await devnet?.stop()
  })

  it('describes itself: rpc, chain, funded accounts', async () => {
    expect(devnet.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(devnet.chainId).toBe(31337)
    expect(await client.getChainId()).toBe(31337)
    expect(devnet.accounts).toHaveLength(4)
    expect(devnet.network.caip2).toBe('eip155:31337')
    const summary = JSON.parse(JSON.stringify(devnet.toJSON(), (_, v) => (typeof v === 'bigint' ? String(v) : v)))
    expect(summary.contracts.usdc).toBe(devnet.contracts.usdc)
    expect(summary.accounts[0].privateKey).toMatch(/^0x[0-9a-f]{64}$/)
  })

  it('deploys real USDC (FiatTokenV2_2) with the mainnet EIP-712 domain and funds every account', async () => {
    const usdc = { address: devnet.contracts.usdc, abi: usdcAbi } as const
    expect(await client.readContract({ ...usdc, functionName: 'name' })).toBe('USD Coin')
    expect(await client.readContract({ ...usdc, functionName: 'symbol' })).toBe('USDC')
    expect(await client.readContract({ ...usdc, functionName: 'version' })).toBe('2')
    expect(await client.readContract({ ...usdc, functionName: 'decimals' })).toBe(6)
    for (const a of devnet.accounts) {
      expect(await client.readContract({ ...usdc, functionName: 'balanceOf', args: [a.address] })).toBe(10_000_000_000n)
      expect(await client.getBalance({ address: a.address })).toBe(10_000n * 10n ** 18n)
    }
    expect(await client.readContract({ ...usdc, functionName: 'totalSupply' })).toBe(40_000_000_000n)
  })

  it('wires the ERC-8004 registries to each other', async () => {
    const { identityRegistry, reputationRegistry, validationRegistry } = devnet.contracts
    expect(
      await client.readContract({ address: identityRegistry, abi: identityRegistryAbi, functionName: 'getVersion' })
    ).toBe('2.0.0')
    for (const [address, abi] of [
      [reputationRegistry, reputationRegistryAbi],
      [validationRegistry, validationRegistryAbi]
    ] as const) {
      const registry = await client.readContract({ address, abi, functionName: 'getIdentityRegistry' })
      expect(getAddress(registry)).toBe(getAddress(identityRegistry))
    }
  })

  it('has Multicall3 at the canonical address, so viem batches reads', async () => {
    const results = await client.multicall({
      contracts: devnet.accounts.map((a) => ({
        address: devnet.contracts.usdc,
        abi: usdcAbi,
        functionName: 'balanceOf' as const,
        args: [a.address] as const
      }))
    })
    expect(results.map((r) => r.result)).toEqual(devnet.accounts.map(() => 10_000_000_000n))
  })

  it('settles a real EIP-3009 transferWithAuthorization signed with viem, and rejects its replay', async () => {
    const [payer, payee, relayer] = devnet.accounts as [
      Devnet['accounts'][0],
      Devnet['accounts'][0],
      Devnet['accounts'][0]
    ]
    const value = 1_500_000n // 1.5 USDC
    const nonce = toHex(crypto.getRandomValues(new Uint8Array(32)))
    const validBefore = BigInt(Math.floor(Date.now() / 1000) + 300)
    const message = { from: payer.address, to: payee.address, value, validAfter: 0n, validBefore, nonce }
    const signature = await payer.account.signTypedData({
      domain: { name: 'USD Coin', version: '2', chainId: devnet.chainId, verifyingContract: devnet.contracts.usdc },
      types: TRANSFER_WITH_AUTHORIZATION_TYPES,
      primaryType: 'TransferWithAuthorization',
      message
    })
    expect(parseSignature(signature).r).toMatch(/^0x/)

    // The payer never pays gas: a third party submits the authorization.
    const relay = createWalletClient({
      account: relayer.account,
      chain: devnet.chain as Chain,
      transport: http(devnet.rpcUrl)
    })
    const args = [payer.address, payee.address, value, 0n, validBefore, nonce, signature] as const
    const hash = await relay.writeContract({
      address: devnet.contracts.usdc,
      abi: usdcAbi,
      functionName: 'transferWithAuthorization',
      args
    })
    const receipt = await client.waitForTransactionReceipt({ hash })
    expect(receipt.status).toBe('success')

    const balance = (address: `0x${string}`) =>
      client.readContract({ address: devnet.contracts.usdc, abi: usdcAbi, functionName: 'balanceOf', args: [address] })
    expect(await balance(payer.address)).toBe(10_000_000_000n - value)
    expect(await balance(payee.address)).toBe(10_000_000_000n + value)
    expect(
      await client.readContract({
        address: devnet.contracts.usdc,
        abi: usdcAbi,
        functionName: 'authorizationState',
        args: [payer.address, nonce]
      })
    ).toBe(true)

    // Same authorization again: the token refuses it, in simulation and on-chain.
    await expect(
      client.simulateContract({
        account: relayer.account,
        address: devnet.contracts.usdc,
        abi: usdcAbi,
        functionName: 'transferWithAuthorization',
        args
      })
    ).rejects.toThrow(/authorization is used or canceled/)
    const replay = await relay.writeContract({
      address: devnet.contracts.usdc,
      abi: usdcAbi,
      functionName: 'transferWithAuthorization',
      args,
      gas: 200_000n // skip estimation so the replay really reaches the chain
    })
    expect((await client.waitForTransactionReceipt({ hash: replay })).status).toBe('reverted')
    expect(await balance(payee.address)).toBe(10_000_000_000n + value)
  })
})

describe('startDevnet options', () => {
  it('deploys to the same addresses on every start with the same mnemonic', async () => {
    const [a, b] = await Promise.all([startDevnet({ accounts: 1 }), startDevnet({ accounts: 1, chainId: 1337 })])
    try {
      expect(a.contracts).toEqual(b.contracts)
      expect(a.accounts[0]?.address).toBe(b.accounts[0]?.address)
      expect(b.chainId).toBe(1337)
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })

  it('funds a custom amount and count, and supports zero accounts', async () => {
    const d = await startDevnet({ accounts: 0, usdcPerAccount: 0n })
    try {
      expect(d.accounts).toEqual([])
      const client = createPublicClient({ transport: http(d.rpcUrl) })
      expect(await client.readContract({ address: d.contracts.usdc, abi: usdcAbi, functionName: 'totalSupply' })).toBe(
        0n
      )
    } finally {
      await d.stop()
    }
  })

  it('mines a block every blockTime seconds once deployed, like a real chain', { timeout: 20_000 }, async () => {
    const d = await startDevnet({ accounts: 1, blockTime: 1 })
    try {
      const client = createPublicClient({ transport: http(d.rpcUrl) })
      const first = await client.getBlock()
      await new Promise((resolve) => setTimeout(resolve, 2_300))
      const later = await client.getBlock()
      expect(later.number - first.number).toBeGreaterThanOrEqual(2n)
      expect(later.timestamp).toBeGreaterThan(first.timestamp)
    } finally {
      await d.stop()
    }
  })

  it('rejects a bad account count before starting anything', async () => {
    await expect(startDevnet({ accounts: -1 })).rejects.toThrow(RangeError)
    await expect(startDevnet({ accounts: 1.5 })).rejects.toThrow(RangeError)
  })

  it('stops what it started when aborted', async () => {
    const controller = new AbortController()
    const pending = startDevnet({ accounts: 1, signal: controller.signal })
    controller.abort(new Error('stop now'))
    await expect(pending).rejects.toThrow()
  })
})
