import { afterEach, describe, expect, it } from 'vitest'
import { capabilityCid, SYNC_PROTOCOL } from '../src/index.ts'
import { createMarketNode, eventually, listingInput } from './fixtures/nodes.ts'
import { probeFind, rawLp, rawNode } from './helpers/hostile.ts'

const stops: Array<() => unknown> = []
afterEach(async () => {
  await Promise.all(stops.splice(0).map((s) => s()))
})

const routingTableSize = (n: { services: unknown }) =>
  (n.services as { dht: { routingTable: { size: number } } }).dht.routingTable.size

describe('findSellers', () => {
  it('asks providers in parallel with a deadline each, returns what answered, and then skips a fake provider', async () => {
    // A DHT node with no marketplace in the middle.
    const middle = await rawNode()
    const seller = await createMarketNode({ market: { dialDiscovered: false } })
    const buyer = await createMarketNode({ market: { dialDiscovered: false, providerTimeoutMs: 1_000 } })
    // The fake provider: announces the capability on the DHT, accepts the sync stream, and never answers.
    const fake = await rawNode()
    const held: Array<{ close(): Promise<void> }> = []
    await fake.handle(SYNC_PROTOCOL, (stream) => {
      rawLp(stream) // reads whatever comes, answers nothing
      held.push(stream)
    })
    stops.push(
      () => buyer.stop(),
      () => seller.stop(),
      () => fake.stop(),
      () => middle.stop()
    )
    for (const n of [seller, buyer, fake]) await n.dial(middle.getMultiaddrs())
    await eventually(() => [middle, seller, buyer, fake].every((n) => routingTableSize(n) > 0), 10_000, 'DHT')

    await seller.services.market.publish(listingInput('translator', { capabilities: ['translate'] }))
    await fake.contentRouting.provide(await capabilityCid('translate'))

    const probe = probeFind(buyer)
    let t0 = performance.now()
    const found = await buyer.services.market.findSellers('translate', { signal: AbortSignal.timeout(10_000) })
    const first = performance.now() - t0
    expect(found.map((l) => l.seller)).toEqual([seller.peerId.toString()])
    expect(held.length).toBeGreaterThan(0) // the fake provider was asked (and held the stream)
    expect(first).toBeLessThan(3_000) // one provider deadline (1 s) and the DHT lookup, not the 60 s sync limit

    // Remembered: the next lookup does not wait for it again.
    held.length = 0
    t0 = performance.now()
    const again = await buyer.services.market.findSellers('translate', { signal: AbortSignal.timeout(10_000) })
    const second = performance.now() - t0
    expect(again.map((l) => l.seller)).toEqual([seller.peerId.toString()])
    expect(held).toHaveLength(0)
    expect(second).toBeLessThan(900)
    expect(probe.stop().worstMs).toBeLessThan(100)
    console.log(`findSellers with a fake provider: ${Math.round(first)} ms, then ${Math.round(second)} ms`)
  })
})
