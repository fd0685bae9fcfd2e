import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BetarNode, buyService, SellerUnreachableError, sellAgent } from '../src/index.ts'
import { eventually, nodeOn, startDevnet, textStatsAgent } from './fixtures.ts'

/**
 * Issue 11, re-announce: a listing outlives its seller until it expires. A buyer holding the listing of a seller that
 * is gone skips it (marked stale, tried after live sellers) and buys from a live one; with none live it says so.
 */
describe('full node: listings of sellers that are gone', () => {
  let devnet: Awaited<ReturnType<typeof startDevnet>>
  let gone: BetarNode
  let live: BetarNode
  let buyer: BetarNode

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 3 })
    gone = await nodeOn(devnet, 0)
    live = await nodeOn(devnet, 1)
    await sellAgent(gone, { ...textStatsAgent, price: { amount: '100000' } })
    await sellAgent(live, { ...textStatsAgent, price: { amount: '200000' } })
    buyer = await nodeOn(devnet, 2, { bootstrap: [...gone.multiaddrs(), ...live.multiaddrs()].map(String) })
    await eventually(() => buyer.services.market.find({ capability: 'text-analysis' }).length === 2, 10_000, 'listings')
  }, 60_000)
  afterAll(async () => {
    await buyer?.stop()
    await live?.stop()
    await devnet?.stop()
  })

  it('buys from the live seller when the cheapest is gone, and tries the gone one last afterwards', async () => {
    await gone.stop()
    const before = await buyer.usdcBalance()
    const first = await buyService(buyer, 'text-analysis', 'one', { maxPrice: 300_000n, feedback: false })
    expect(first.listing.seller).toBe(live.peerId)
    expect(buyer.reachability.isStale(gone.peerId)).toBe(true)
    // The gone seller's listing is still held (it has not expired), but ordered last now.
    expect(buyer.services.market.find({ capability: 'text-analysis' }).map((l) => l.seller)).toContain(gone.peerId)
    const second = await buyService(buyer, 'text-analysis', 'two', { maxPrice: 300_000n, feedback: false })
    expect(second.listing.seller).toBe(live.peerId)
    expect(await buyer.usdcBalance()).toBe(before - 400_000n)

    // Only the gone seller within the price: refused with the reason, nothing paid.
    const none = await buyService(buyer, 'text-analysis', 'three', { maxPrice: 150_000n, feedback: false }).catch(
      (e: unknown) => e
    )
    expect(none).toBeInstanceOf(SellerUnreachableError)
    expect((none as Error).message).toContain(`offer "text-analysis" but none could be reached: ${gone.peerId}`)
    expect(await buyer.usdcBalance()).toBe(before - 400_000n)
  }, 60_000)
})
