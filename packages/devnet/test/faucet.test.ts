import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createPublicClient, http, type PublicClient, parseEther } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Devnet,
  devnetUsdcAddress,
  FAUCET_MAX_USDC,
  FAUCET_MAX_WEI,
  fundAccount,
  parseDecimalAmount,
  startDevnet,
  usdcAbi
} from '../src/index.ts'

describe('devnet faucet (fundAccount)', () => {
  let devnet: Devnet
  let client: PublicClient
  const usdcOf = (address: `0x${string}`) =>
    client.readContract({ address: devnet.contracts.usdc, abi: usdcAbi, functionName: 'balanceOf', args: [address] })

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 1 })
    client = createPublicClient({ chain: devnet.chain, transport: http(devnet.rpcUrl) })
  })
  afterAll(async () => {
    await devnet?.stop()
  })

  it('finds the USDC of a default devnet without its summary', () => {
    expect(devnetUsdcAddress()).toBe(devnet.contracts.usdc)
  })

  it('gives a new wallet 100 USDC and 1 ETH by default, minted on-chain', async () => {
    const address = privateKeyToAddress(generatePrivateKey())
    const supply = await client.readContract({
      address: devnet.contracts.usdc,
      abi: usdcAbi,
      functionName: 'totalSupply'
    })
    const result = await fundAccount({ rpcUrl: devnet.rpcUrl, usdc: devnet.contracts.usdc, address })
    expect(result).toMatchObject({
      address,
      usdc: { added: 100_000_000n, balance: 100_000_000n },
      eth: { added: parseEther('1'), balance: parseEther('1') }
    })
    expect(await usdcOf(address)).toBe(100_000_000n)
    expect(await client.getBalance({ address })).toBe(parseEther('1'))
    const mint = await client.getTransactionReceipt({ hash: result.usdc.transaction as `0x${string}` })
    expect(mint.status).toBe('success')
    expect(
      await client.readContract({ address: devnet.contracts.usdc, abi: usdcAbi, functionName: 'totalSupply' })
    ).toBe(supply + 100_000_000n)
  })

  it('adds decimal amounts to what an account holds, and serves concurrent calls', async () => {
    const [account] = devnet.accounts
    if (account == null) throw new Error('no account')
    const before = await usdcOf(account.address)
    const eth = await client.getBalance({ address: account.address })
    const other = privateKeyToAddress(generatePrivateKey())
    await Promise.all([
      fundAccount({
        rpcUrl: devnet.rpcUrl,
        usdc: devnet.contracts.usdc,
        address: account.address,
        usdcAtomic: parseDecimalAmount('0.25', 6, 'usdc'),
        wei: parseDecimalAmount('0.5', 18, 'eth')
      }),
      fundAccount({ rpcUrl: devnet.rpcUrl, usdc: devnet.contracts.usdc, address: other, usdcAtomic: 7n, wei: 0n })
    ])
    expect(await usdcOf(account.address)).toBe(before + 250_000n)
    expect(await client.getBalance({ address: account.address })).toBe(eth + parseEther('0.5'))
    expect(await usdcOf(other)).toBe(7n)
    expect(await client.getBalance({ address: other })).toBe(0n)
  })

  it('refuses amounts above the maximum or negative, and a malformed address, before changing anything', async () => {
    const address = privateKeyToAddress(generatePrivateKey())
    const base = { rpcUrl: devnet.rpcUrl, usdc: devnet.contracts.usdc, address }
    await expect(fundAccount({ ...base, usdcAtomic: FAUCET_MAX_USDC + 1n })).rejects.toMatchObject({
      name: 'FaucetRequestError'
    })
    await expect(fundAccount({ ...base, wei: FAUCET_MAX_WEI + 1n })).rejects.toMatchObject({
      name: 'FaucetRequestError'
    })
    await expect(fundAccount({ ...base, wei: -1n })).rejects.toMatchObject({ name: 'FaucetRequestError' })
    await expect(fundAccount({ ...base, address: '0x1234' })).rejects.toMatchObject({ name: 'FaucetRequestError' })
    expect(await client.getBalance({ address })).toBe(0n)
    // The maximum itself is accepted.
    await fundAccount({ ...base, usdcAtomic: FAUCET_MAX_USDC, wei: FAUCET_MAX_WEI })
    expect(await usdcOf(address)).toBe(FAUCET_MAX_USDC)
  })

  it('parses decimal amounts strictly', () => {
    expect(parseDecimalAmount('100', 6, 'usdc')).toBe(100_000_000n)
    expect(parseDecimalAmount('0.000001', 6, 'usdc')).toBe(1n)
    expect(parseDecimalAmount('1.5', 18, 'eth')).toBe(parseEther('1.5'))
    for (const bad of ['0.0000001', '-1', '1e3', '', '.5', '1.', 'abc', '1 000']) {
      expect(() => parseDecimalAmount(bad, 6, 'usdc'), bad).toThrow(
        expect.objectContaining({ name: 'FaucetRequestError' })
      )
    }
  })

  describe('on anything but anvil', () => {
    let server: Server
    let url: string
    beforeAll(async () => {
      // Another JSON-RPC client (what a public node answers to web3_clientVersion).
      server = createServer((req, res) => {
        let body = ''
        req.on('data', (c: Buffer) => {
          body += c.toString()
        })
        req.on('end', () => {
          const { id } = JSON.parse(body) as { id: number }
          res.setHeader('content-type', 'application/json')
          res.end(JSON.stringify({ jsonrpc: '2.0', id, result: 'Geth/v1.14.0-stable/linux-amd64/go1.22' }))
        })
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    })
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

    it('is unavailable', async () => {
      const address = privateKeyToAddress(generatePrivateKey())
      await expect(fundAccount({ rpcUrl: url, usdc: devnet.contracts.usdc, address })).rejects.toMatchObject({
        name: 'FaucetUnavailableError',
        message: expect.stringContaining('anvil')
      })
      await expect(
        fundAccount({ rpcUrl: 'http://127.0.0.1:1', usdc: devnet.contracts.usdc, address })
      ).rejects.toMatchObject({ name: 'FaucetUnavailableError' })
    })
  })
})
