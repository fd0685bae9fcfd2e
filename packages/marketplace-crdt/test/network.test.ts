import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { LevelDatastore } from 'datastore-level'
import { afterEach, describe, expect, it } from 'vitest'
import { createMarketNode, eventually, listingInput, type MarketNode } from './fixtures/nodes.ts'

const nodes: MarketNode[] = []
async function start(n: number): Promise<MarketNode[]> {
  const created = await Promise.all(Array.from({ length: n }, () => createMarketNode()))
  nodes.push(...created)
  return created
}
/** Connects nodes in a line: 0–1–2–…, so gossip must hop. */
async function line(list: MarketNode[]): Promise<void> {
  for (let i = 1; i < list.length; i++) await list[i]!.dial(list[i - 1]!.getMultiaddrs())
}

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()))
})

describe('marketplace over real libp2p nodes (GossipSub + sync on connect)', () => {
  it('replicates publish, update and delist to 5 nodes in a line', async () => {
    const all = await start(5)
    await line(all)
    const [seller] = all
    const key = `${seller!.peerId}/summarizer`
    await seller!.services.market.publish(listingInput('summarizer'))
    await eventually(() => all.every((n) => n.services.market.get(key) != null), 10_000, 'publish everywhere')

    await seller!.services.market.publish(listingInput('summarizer', { name: 'Summarizer v2' }))
    await eventually(() => all.every((n) => n.services.market.get(key)?.name === 'Summarizer v2'), 10_000, 'update')

    await seller!.services.market.delist('summarizer')
    await eventually(() => all.every((n) => n.services.market.get(key) == null), 10_000, 'delist')
  })

  it('converges under concurrent publishing from every node', async () => {
    const all = await start(5)
    await line(all)
    await Promise.all(
      all.map((n, i) =>
        n.services.market.publish(
          listingInput(`agent-${i}`, { price: { ...listingInput('x').price, amount: String(1000 * (i + 1)) } })
        )
      )
    )
    await eventually(() => all.every((n) => n.services.market.find().length === 5), 10_000, 'all listings')
    const views = all.map((n) => JSON.stringify(n.services.market.find().map((l) => `${l.seller}/${l.id}`)))
    expect(new Set(views).size).toBe(1)
    expect(all[4]!.services.market.find({ maxPrice: 2000n }).map((l) => l.price.amount)).toEqual(['1000', '2000'])
  })

  it('a node that joins later gets everything through sync on connect', async () => {
    const [a, b] = await start(2)
    await b!.dial(a!.getMultiaddrs())
    for (let i = 0; i < 20; i++) await a!.services.market.publish(listingInput(`a-${i}`))
    const [late] = await start(1)
    await late!.dial(b!.getMultiaddrs())
    await eventually(() => late!.services.market.find().length === 20, 10_000, 'late joiner sync')
  })

  it('a listing whose seller stops refreshing it expires on every node', async () => {
    const all = await start(4)
    await line(all)
    const [seller] = all
    const key = `${seller!.peerId}/short-lived`
    await seller!.services.market.publish(listingInput('short-lived', { ttlMs: 1_500 }))
    await eventually(() => all.every((n) => n.services.market.get(key) != null), 5_000, 'published')
    await seller!.stop() // no more heartbeats
    await eventually(() => all.slice(1).every((n) => n.services.market.get(key) == null), 5_000, 'expired everywhere')
    expect(all[3]!.services.market.find({ capability: 'summarize' })).toEqual([])
  })

  it('finds sellers of a capability through the DHT and syncs with them', async () => {
    const [seller, middle, buyer] = await start(3)
    await middle!.dial(seller!.getMultiaddrs())
    await buyer!.dial(middle!.getMultiaddrs())
    await eventually(
      () =>
        [seller, middle, buyer].every(
          (n) => (n!.services as { dht?: { routingTable: { size: number } } }).dht!.routingTable.size > 0
        ),
      5_000,
      'routing tables'
    )
    await seller!.services.market.publish(listingInput('translator', { capabilities: ['translate'] }))
    const found = await buyer!.services.market.findSellers('translate', { signal: AbortSignal.timeout(10_000) })
    expect(found.map((l) => l.id)).toEqual(['translator'])
  })
})

describe('persistence', () => {
  it('a restarted node keeps the marketplace it had (LevelDB)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'betar-market-'))
    try {
      const [seller] = await start(1)
      const privateKey = await generateKeyPair('Ed25519')
      let datastore = new LevelDatastore(join(dir, 'ds'))
      await datastore.open()
      let node = await createMarketNode({ datastore, privateKey })
      await node.dial(seller!.getMultiaddrs())
      await seller!.services.market.publish(listingInput('kept'))
      await eventually(() => node.services.market.find().length === 1, 10_000, 'replicated')
      await node.stop()
      await datastore.close()

      await seller!.stop() // nobody left to sync from: the state must come from disk
      datastore = new LevelDatastore(join(dir, 'ds'))
      await datastore.open()
      node = await createMarketNode({ datastore, privateKey })
      expect(node.services.market.find().map((l) => l.id)).toEqual(['kept'])
      await node.stop()
      await datastore.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('epochs bound the state', () => {
  it('keeps live listings across epoch changes while dropping old epochs (only two are ever held)', async () => {
    const market = { epochMs: 2_000, listingTtlMs: 1_500, gcIntervalMs: 250 }
    const [seller, peer] = await Promise.all([createMarketNode({ market }), createMarketNode({ market })])
    nodes.push(seller, peer)
    await peer.dial(seller.getMultiaddrs())
    const key = `${seller.peerId}/rolling`
    await seller.services.market.publish(listingInput('rolling', { ttlMs: 1_500 }))
    await seller.services.market.publish(listingInput('gone', { ttlMs: 1_500 }))
    await eventually(() => peer.services.market.get(key) != null, 5_000, 'replicated')
    await seller.services.market.delist('gone')
    await eventually(() => peer.services.market.get(`${seller.peerId}/gone`) == null, 5_000, 'delisted')

    const held = (n: MarketNode) => (n.services.market as unknown as { market: { epochs(): number[] } }).market.epochs()
    const seen = new Set<number>()
    const until = Date.now() + 6_500 // more than three epochs
    while (Date.now() < until) {
      for (const e of held(peer)) seen.add(e)
      expect(held(peer).length).toBeLessThanOrEqual(2)
      expect(peer.services.market.get(`${seller.peerId}/gone`)).toBeUndefined()
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(seen.size).toBeGreaterThanOrEqual(3) // it really rotated
    await eventually(() => peer.services.market.get(key) != null, 2_000, 'still listed after rotation')
  })
})
