import { DEVNET_MNEMONIC, deriveAccount, type FacilitatorServer, startDevnetFacilitator } from '@betar/devnet'
import { createTestClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { facilitatorSettler, type Settler, X402Error } from '../src/index.ts'
import { type Chain, startChain } from './fixtures/chain.ts'
import { createNode, type X402Node } from './fixtures/nodes.ts'

const PRICE = 30_000n
const text = (s: string) => new TextEncoder().encode(s)
const str = (b: Uint8Array) => new TextDecoder().decode(b)

describe('settlement through a real x402 facilitator on loopback', () => {
  let chain: Chain
  let facilitator: FacilitatorServer
  let seller: X402Node
  let buyer: X402Node

  beforeAll(async () => {
    chain = await startChain()
    facilitator = await startDevnetFacilitator(chain.devnet)
    const sellerWallet = chain.devnet.accounts[0]!.address
    seller = await createNode({
      server: {
        settler: facilitatorSettler({
          url: facilitator.url,
          payTo: sellerWallet,
          publicClient: chain.client,
          refunder: chain.refunderFor(chain.devnet.accounts[0]!)
        }),
        asset: chain.asset
      }
    })
    buyer = await createNode({ client: { signer: chain.devnet.accounts[1]!.account, asset: chain.asset } })
    seller.services.x402Server.register('translate', {
      price: { amount: PRICE },
      handler: (r) => text(str(r.body).toUpperCase())
    })
  })
  afterAll(async () => {
    await Promise.all([buyer?.stop(), seller?.stop()])
    await facilitator?.stop()
    await chain?.stop()
  })

  it('pays, the facilitator submits the transfer (and its gas), the seller is paid', async () => {
    const sellerWallet = chain.devnet.accounts[0]!.address
    const before = await chain.balance(sellerWallet)
    const sellerEth = await chain.client.getBalance({ address: sellerWallet })
    const r = await buyer.services.x402Client.call(seller.getMultiaddrs(), 'translate', text('hola'), {
      maxAmount: PRICE,
      payTo: sellerWallet
    })
    expect(str(r.body)).toBe('HOLA')
    const receipt = await chain.client.getTransactionReceipt({ hash: r.settlement!.transaction as `0x${string}` })
    expect(receipt.from.toLowerCase()).toBe(facilitator.address.toLowerCase())
    expect(await chain.balance(sellerWallet)).toBe(before + PRICE)
    expect(await chain.client.getBalance({ address: sellerWallet })).toBe(sellerEth) // the seller paid no gas
  })

  it("maps the facilitator's verdict to a typed error: a payer without USDC is INSUFFICIENT_FUNDS", async () => {
    const poor = deriveAccount(DEVNET_MNEMONIC, 77) // funded with nothing
    const poorBuyer = await createNode({ client: { signer: poor.account, asset: chain.asset } })
    try {
      const sellerWallet = chain.devnet.accounts[0]!.address
      const before = await chain.balance(sellerWallet)
      const err = await poorBuyer.services.x402Client
        .call(seller.getMultiaddrs(), 'translate', text('x'), { maxAmount: PRICE, payTo: sellerWallet })
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(X402Error)
      expect(err).toMatchObject({ codeName: 'INSUFFICIENT_FUNDS', code: 2011, retryable: false })
      expect(await chain.balance(sellerWallet)).toBe(before)
    } finally {
      await poorBuyer.stop()
    }
  })
})

describe('a settlement that times out is SETTLEMENT_PENDING, then completes on re-ask — never a second charge', () => {
  let chain: Chain
  let seller: X402Node
  let buyer: X402Node

  beforeAll(async () => {
    chain = await startChain()
    seller = await createNode({
      server: { settler: chain.settlerFor(chain.devnet.accounts[0]!), asset: chain.asset, confirmationTimeoutMs: 300 }
    })
    buyer = await createNode({
      client: { signer: chain.devnet.accounts[1]!.account, asset: chain.asset, reaskAttempts: 0 }
    })
    seller.services.x402Server.register('job', { price: { amount: PRICE }, handler: () => text('result') })
  })
  afterAll(async () => {
    await Promise.all([buyer?.stop(), seller?.stop()])
    await chain?.stop()
  })

  it('answers SETTLEMENT_PENDING with the transaction, then the stored result once mined', async () => {
    const test = createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })
    const sellerWallet = chain.devnet.accounts[0]!.address
    const before = await chain.balance(sellerWallet)
    await test.setAutomine(false) // the transfer is broadcast but no block comes
    const correlationId = 'pending-1'
    const pending = await buyer.services.x402Client
      .call(seller.getMultiaddrs(), 'job', text('go'), { maxAmount: PRICE, payTo: sellerWallet, correlationId })
      .catch((e: unknown) => e)
    expect(pending).toBeInstanceOf(X402Error)
    expect(pending).toMatchObject({ codeName: 'SETTLEMENT_PENDING', retryable: true })
    const tx = (pending as X402Error).details?.transaction as `0x${string}`
    expect(tx).toMatch(/^0x[0-9a-f]{64}$/)

    // Still unmined: re-asking gives the same pending answer, and nothing is broadcast twice.
    const again = await buyer.services.x402Client
      .call(seller.getMultiaddrs(), 'job', text('go'), { maxAmount: PRICE, payTo: sellerWallet, correlationId })
      .catch((e: unknown) => e)
    expect(again).toMatchObject({ codeName: 'SETTLEMENT_PENDING' })
    expect((await test.getTxpoolContent()).pending).not.toEqual({})

    await test.mine({ blocks: 1 })
    await test.setAutomine(true)
    const r = await buyer.services.x402Client.call(seller.getMultiaddrs(), 'job', text('go'), {
      maxAmount: PRICE,
      payTo: sellerWallet,
      correlationId
    })
    expect(str(r.body)).toBe('result')
    expect(r.settlement?.transaction).toBe(tx)
    expect(await chain.balance(sellerWallet)).toBe(before + PRICE)
  })
})

describe('a seller that cannot pay gas refuses before anything is reserved', () => {
  let chain: Chain
  let seller: X402Node
  let buyer: X402Node
  let ran = 0

  beforeAll(async () => {
    chain = await startChain()
    // The seller settles from a wallet with no ETH: the simulation with the real fees says it cannot pay for gas.
    const broke = deriveAccount(DEVNET_MNEMONIC, 88)
    seller = await createNode({
      server: { settler: chain.settlerFor(broke), asset: chain.asset, payTo: chain.devnet.accounts[0]!.address }
    })
    buyer = await createNode({
      client: {
        signer: chain.devnet.accounts[1]!.account,
        asset: chain.asset,
        budget: { limit: PRICE },
        reaskAttempts: 2,
        reaskDelayMs: 20
      }
    })
    seller.services.x402Server.register('job', {
      price: { amount: PRICE },
      handler: () => {
        ran++
        return text('never runs')
      }
    })
  })
  afterAll(async () => {
    await Promise.all([buyer?.stop(), seller?.stop()])
    await chain?.stop()
  })

  it('answers the retryable SERVICE_UNAVAILABLE, reserves nothing, moves no money and runs nothing', async () => {
    const buyerWallet = chain.devnet.accounts[1]!.address
    const before = await chain.balance(buyerWallet)
    const err = await buyer.services.x402Client
      .call(seller.getMultiaddrs(), 'job', text('x'), { maxAmount: PRICE, payTo: chain.devnet.accounts[0]!.address })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(X402Error)
    expect(err).toMatchObject({ codeName: 'SERVICE_UNAVAILABLE', code: 5000, retryable: true })
    expect((err as X402Error).message).toMatch(/chain or facilitator is unavailable/) // details stay in the seller's log
    expect(await chain.balance(buyerWallet)).toBe(before)
    expect(ran).toBe(0)
    expect(seller.services.x402Server.stats().pendingCalls).toBe(0)
  })
})

describe('recovery when the seller lost track of its own broadcast', () => {
  it('finds the transfer on-chain by the authorization (AuthorizationUsed) and completes the call, charging once', async () => {
    const chain = await startChain(3)
    const real = chain.settlerFor(chain.devnet.accounts[0]!)
    let forget = true
    // Broadcasts and confirms for real, then reports the outcome as unknown — as a crash before the receipt would.
    const amnesic: Settler = {
      ...real,
      settle: async (payload, requirements, attempt, options) => {
        if (!forget) return real.settle(payload, requirements, attempt, options)
        forget = false
        // Settles for real, but nothing it persisted survives: the server is told "pending" with an empty attempt.
        await real.settle(payload, requirements, attempt, { ...options, persist: async () => {} })
        return { status: 'pending', attempt: { transactions: [] } }
      }
    }
    const seller = await createNode({ server: { settler: amnesic, asset: chain.asset } })
    const buyer = await createNode({
      client: { signer: chain.devnet.accounts[1]!.account, asset: chain.asset, reaskAttempts: 0 }
    })
    seller.services.x402Server.register('job', { price: { amount: PRICE }, handler: () => text('recovered') })
    try {
      const sellerWallet = chain.devnet.accounts[0]!.address
      const before = await chain.balance(sellerWallet)
      const options = { maxAmount: PRICE, payTo: sellerWallet, correlationId: 'amnesia-1' }
      const first = await buyer.services.x402Client
        .call(seller.getMultiaddrs(), 'job', text('x'), options)
        .catch((e: unknown) => e)
      expect(first).toMatchObject({ codeName: 'SETTLEMENT_PENDING' })
      const r = await buyer.services.x402Client.call(seller.getMultiaddrs(), 'job', text('x'), options)
      expect(str(r.body)).toBe('recovered')
      expect(r.settlement?.transaction).toMatch(/^0x[0-9a-f]{64}$/)
      expect(await chain.balance(sellerWallet)).toBe(before + PRICE)
    } finally {
      await Promise.all([buyer.stop(), seller.stop()])
      await chain.stop()
    }
  })
})
