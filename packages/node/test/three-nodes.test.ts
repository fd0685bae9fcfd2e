import type { Devnet } from '@betar/devnet'
import { analyzeText } from '@betar/executor'
import { STARRED_TAG } from '@betar/reputation'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BetarNode, buyService, type SoldAgent, sellAgent } from '../src/index.ts'
import { eventually, nodeOn, startDevnet, textStatsAgent } from './fixtures.ts'

const PRICE = 250_000n
const TEXT = 'Three nodes on a line. The buyer only knows the middle one.'

describe('full node: seller — middle — buyer', () => {
  let devnet: Devnet
  let seller: BetarNode
  let middle: BetarNode
  let buyer: BetarNode
  let sold: SoldAgent

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 3 })
    middle = await nodeOn(devnet, 2)
    const bootstrap = middle.multiaddrs().map(String)
    seller = await nodeOn(devnet, 0, { bootstrap })
    buyer = await nodeOn(devnet, 1, { bootstrap })
    await eventually(() => middle.libp2p.getPeers().length === 2, 10_000, 'both peers on the middle node')
    sold = await sellAgent(seller, textStatsAgent)
  }, 60_000)

  afterAll(async () => {
    await buyer?.stop()
    await seller?.stop()
    await middle?.stop()
    await devnet?.stop()
  })

  it('finds the seller through the DHT and reaches it by the addresses in its listing', async () => {
    const sellerId = peerIdFromString(seller.peerId)
    expect(buyer.libp2p.getConnections(sellerId)).toHaveLength(0)

    const found = await buyer.services.market.findSellers('text-analysis')
    expect(found.map((l) => l.seller)).toContain(seller.peerId)
    expect(found.find((l) => l.seller === seller.peerId)?.erc8004?.agentId).toBe(sold.registration.agentId.toString())

    const buyerBefore = await buyer.usdcBalance()
    const sellerBefore = await seller.usdcBalance()
    const purchase = await buyService(buyer, 'text-analysis', TEXT, { maxPrice: PRICE })

    expect(purchase.listing.seller).toBe(seller.peerId)
    expect(purchase.verification?.ok).toBe(true)
    expect(buyer.libp2p.getConnections(sellerId).length).toBeGreaterThan(0)
    expect(purchase.output).toEqual(analyzeText(TEXT))
    expect(await buyer.usdcBalance()).toBe(buyerBefore - PRICE)
    expect(await seller.usdcBalance()).toBe(sellerBefore + PRICE)
    // the middle node scores the agent too, reading the feedback file from the chain
    const summary = await middle.reputation.summary(sold.registration.agentId)
    expect(summary[STARRED_TAG]).toMatchObject({ count: 1, paidVolume: PRICE })
  }, 60_000)
})
