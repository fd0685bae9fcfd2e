import type { Devnet } from '@betar/devnet'
import { analyzeText } from '@betar/executor'
import { STARRED_TAG } from '@betar/reputation'
import { PaymentNotApprovedError } from '@betar/x402-libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type BetarNode,
  type BuyProgress,
  buyService,
  ListingVerificationError,
  type SoldAgent,
  sellAgent
} from '../src/index.ts'
import { nodeOn, publishClaimingListing, publishForgedPayeeListing, startDevnet, textStatsAgent } from './fixtures.ts'

const PRICE = 250_000n
const TEXT = 'Betar lets agents sell work to other agents. Payments settle in USDC over libp2p streams.'

describe('full node: seller and buyer on loopback + devnet', () => {
  let devnet: Devnet
  let seller: BetarNode
  let buyer: BetarNode
  let sold: SoldAgent

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 2 })
    seller = await nodeOn(devnet, 0)
    buyer = await nodeOn(devnet, 1, { bootstrap: seller.multiaddrs().map(String) })
    sold = await sellAgent(seller, textStatsAgent)
  }, 60_000)

  afterAll(async () => {
    await buyer?.stop()
    await seller?.stop()
    await devnet?.stop()
  })

  it('sells: registers the agent, binds the wallet, serves the resource and publishes the listing', async () => {
    expect(sold.registration.agentId).toBeGreaterThanOrEqual(0n)
    expect(sold.registration.uri).toMatch(/^ipfs:\/\//)
    expect(sold.wallet.wallet).toBe(seller.wallet.address)
    expect(seller.services.x402.resources()).toContain(textStatsAgent.name)
    expect(sold.listing).toMatchObject({
      seller: seller.peerId,
      resource: textStatsAgent.name,
      capabilities: ['text-analysis'],
      price: { amount: PRICE.toString(), payTo: seller.wallet.address, network: devnet.network.caip2 },
      erc8004: { agentId: sold.registration.agentId.toString(), agentRegistry: sold.registration.agentRegistry }
    })
  })

  it('buys: discovers, verifies, pays on-chain, gets the real output and rates the agent', async () => {
    const buyerBefore = await buyer.usdcBalance()
    const sellerBefore = await seller.usdcBalance()

    const progress: BuyProgress[] = []
    const purchase = await buyService(buyer, 'text-analysis', TEXT, {
      maxPrice: PRICE,
      rating: 95,
      onProgress: (event) => progress.push(event)
    })

    // every step reported, in order (the settlement is seen on-chain only when the answer takes longer than a poll)
    expect(progress.map((e) => e.type).filter((t) => t !== 'buy:payment-settled')).toEqual([
      'buy:discovering',
      'buy:discovered',
      'buy:connecting',
      'buy:verifying',
      'buy:verified',
      'buy:payment-signed',
      'buy:payment-sent',
      'buy:result',
      'buy:feedback'
    ])
    const settled = progress.findIndex((e) => e.type === 'buy:payment-settled')
    if (settled >= 0) expect(progress[settled - 1]?.type).toBe('buy:payment-sent')
    expect(progress.find((e) => e.type === 'buy:payment-signed')?.detail).toEqual({
      correlationId: purchase.correlationId,
      amount: PRICE,
      payTo: seller.wallet.address
    })
    expect(progress.find((e) => e.type === 'buy:result')?.detail).toEqual({
      correlationId: purchase.correlationId,
      transaction: purchase.call.settlement?.transaction,
      settlementCheck: 'verified'
    })

    // discovery
    expect(purchase.discovered.map((l) => l.seller)).toContain(seller.peerId)
    expect(purchase.listing.seller).toBe(seller.peerId)
    // identity
    expect(purchase.verification?.ok).toBe(true)
    expect(purchase.reputation?.[STARRED_TAG]?.count ?? 0).toBe(0)
    expect(purchase.warnings).toEqual([])
    expect(purchase.call.settlementCheck).toBe('verified')
    // payment, checked on-chain
    expect(purchase.call.amount).toBe(PRICE)
    expect(purchase.call.settlement?.success).toBe(true)
    const receipt = await buyer.clients.publicClient.getTransactionReceipt({
      hash: purchase.proof!.txHash as `0x${string}`
    })
    expect(receipt.status).toBe('success')
    expect(await buyer.usdcBalance()).toBe(buyerBefore - PRICE)
    expect(await seller.usdcBalance()).toBe(sellerBefore + PRICE)
    expect(purchase.proof).toMatchObject({
      fromAddress: buyer.wallet.address,
      toAddress: seller.wallet.address,
      amount: PRICE.toString(),
      asset: devnet.network.usdc.address,
      correlationId: purchase.call.correlationId
    })
    // the executor's real output
    expect(purchase.output).toEqual(analyzeText(TEXT))
    // feedback, in the transaction itself (a data: URI, the default) and counted for the agent
    expect(purchase.feedback).toMatchObject({ state: 'given', result: { feedbackIndex: '1' } })
    expect(purchase.feedback?.result?.feedbackURI).toMatch(/^data:application\/json;base64,/)
    const agentId = sold.registration.agentId
    const seenByBuyer = await buyer.reputation.summary(agentId)
    expect(seenByBuyer[STARRED_TAG]).toMatchObject({ count: 1, entries: 1, paidVolume: PRICE })
    // the seller's node reads the feedback file from the chain and scores it the same way
    const seenBySeller = await seller.reputation.summary(agentId)
    expect(seenBySeller[STARRED_TAG]).toMatchObject({ count: 1, paidVolume: PRICE })
  }, 60_000)

  it('pays at most the listed price: a seller asking more than its listing is refused before signing', async () => {
    await publishClaimingListing(seller, devnet, sold, {
      id: 'underpriced',
      capability: 'underpriced',
      payTo: seller.wallet.address,
      amount: '1000' // the resource really asks 250000
    })
    const before = await buyer.usdcBalance()
    const error = await buyService(buyer, 'underpriced', TEXT, { maxPrice: PRICE }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PaymentNotApprovedError)
    expect((error as PaymentNotApprovedError).message).toMatch(/250000/)
    expect(await buyer.usdcBalance()).toBe(before)
  }, 30_000)

  it('refuses a listing whose payee is not the agent wallet, with the reasons', async () => {
    await publishForgedPayeeListing(seller, devnet, sold, buyer.wallet.address)
    const before = await buyer.usdcBalance()
    const error = await buyService(buyer, 'forged-payee', TEXT, { maxPrice: PRICE }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ListingVerificationError)
    expect((error as ListingVerificationError).reasons.map((r) => r.code)).toContain('PAYTO_NOT_AGENT_WALLET')
    expect(await buyer.usdcBalance()).toBe(before)
  }, 30_000)

  it('a progress handler that throws changes nothing: the purchase completes', async () => {
    const types: string[] = []
    const purchase = await buyService(buyer, 'text-analysis', TEXT, {
      maxPrice: PRICE,
      feedback: false,
      onProgress: (event) => {
        types.push(event.type)
        throw new Error('a bug in the handler')
      }
    })
    expect(purchase.output).toEqual(analyzeText(TEXT))
    expect(purchase.call.settlementCheck).toBe('verified')
    // Every step still reported after the handler threw. `buy:payment-sent` (read from the call journal) and
    // `buy:payment-settled` (polled) come only when their reader sees them while the call is open.
    const polled = new Set(['buy:payment-sent', 'buy:payment-settled'])
    expect(types.filter((t) => !polled.has(t))).toEqual([
      'buy:discovering',
      'buy:discovered',
      'buy:connecting',
      'buy:verifying',
      'buy:verified',
      'buy:payment-signed',
      'buy:result'
    ])
  }, 30_000)
})
