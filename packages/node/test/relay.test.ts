import type { Devnet } from '@betar/devnet'
import { analyzeText } from '@betar/executor'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BetarNode, buyService, type SoldAgent, sellAgent } from '../src/index.ts'
import { eventually, nodeOn, startDevnet, textStatsAgent } from './fixtures.ts'

const PRICE = 250_000n
const TEXT = 'A seller nobody can dial. The relay carries the whole paid call.'

describe('full node: a seller reachable only through a relaying middle node (circuit relay v2)', () => {
  let devnet: Devnet
  let seller: BetarNode
  let relay: BetarNode
  let buyer: BetarNode
  let sold: SoldAgent

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 3 })
    relay = await nodeOn(devnet, 2, { relayServer: true })
    const bootstrap = relay.multiaddrs().map(String)
    // The seller has no listening address of its own: it is reachable only through a reservation on the relay.
    seller = await nodeOn(devnet, 0, { listen: ['/p2p-circuit'], bootstrap })
    await eventually(
      () => seller.multiaddrs().some((a) => a.toString().includes('/p2p-circuit')),
      10_000,
      'relay reservation'
    )
    // The buyer listens nowhere either: neither side can dial the other, everything between them crosses the relay.
    buyer = await nodeOn(devnet, 1, { listen: [], bootstrap })
    sold = await sellAgent(seller, textStatsAgent)
  }, 60_000)

  afterAll(async () => {
    await buyer?.stop()
    await seller?.stop()
    await relay?.stop()
    await devnet?.stop()
  })

  it('lists relayed addresses only, and the buyer pays and gets the result over the relayed connection', async () => {
    expect(sold.listing.multiaddrs.length).toBeGreaterThan(0)
    expect(sold.listing.multiaddrs.every((a) => a.includes('/p2p-circuit'))).toBe(true)

    const buyerBefore = await buyer.usdcBalance()
    const sellerBefore = await seller.usdcBalance()
    const purchase = await buyService(buyer, 'text-analysis', TEXT, { maxPrice: PRICE })

    expect(purchase.listing.seller).toBe(seller.peerId)
    expect(purchase.verification?.ok).toBe(true)
    expect(purchase.output).toEqual(analyzeText(TEXT))
    const connections = buyer.libp2p.getConnections(peerIdFromString(seller.peerId))
    expect(connections.length).toBeGreaterThan(0)
    expect(connections.every((c) => c.remoteAddr.toString().includes('/p2p-circuit'))).toBe(true)
    expect(await buyer.usdcBalance()).toBe(buyerBefore - PRICE)
    expect(await seller.usdcBalance()).toBe(sellerBefore + PRICE)
  }, 60_000)
})
