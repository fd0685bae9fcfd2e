import { afterEach, describe, expect, it } from 'vitest'
import { clientIdOf, INVALID_UPDATES_TO_GRAYLIST, MARKETPLACE_SCORE_THRESHOLDS } from '../src/index.ts'
import { createMarketNode, eventually, listingInput, type MarketNode } from './fixtures/nodes.ts'
import { currentEpoch, probeFind, type RawNode, rawNode, rawUpdate } from './helpers/hostile.ts'

const TOPIC = `betar/marketplace/crdt/1/${currentEpoch()}`
const stops: Array<() => unknown> = []
afterEach(async () => {
  await Promise.all(stops.splice(0).map((s) => s()))
})

/**
 * The attacker runs in this process: it yields after each message, as a remote peer would not hold our event loop
 * while it signs and sends (what we measure is the honest node's cost).
 */
const remoteCpu = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** GossipSub internals the test reads: the score it keeps of a peer, and whether it still reads the peer's RPCs. */
interface Scores {
  getScore(peer: string): number
  acceptFrom(peer: string): boolean
}
const scores = (n: MarketNode) => n.services.pubsub as unknown as Scores

/** Counts the updates the honest node actually decoded and validated (as opposed to refusing them unread). */
function countValidations(node: MarketNode): { count: number } {
  const counter = { count: 0 }
  const market = (node.services.market as unknown as { market: { doc(e: number): unknown } }).market
  const doc = market.doc(currentEpoch()) as Record<'applyRemote' | 'applyRemoteBulk', (...args: unknown[]) => unknown>
  // One call may go through the other: count the outermost (during the attack, only the attacker's updates arrive,
  // validated one at a time).
  let depth = 0
  for (const name of ['applyRemote', 'applyRemoteBulk'] as const) {
    const original = doc[name].bind(doc)
    doc[name] = (...args: unknown[]) => {
      if (depth === 0) counter.count++
      depth++
      let result: unknown
      try {
        result = original(...args)
      } catch (err) {
        depth--
        throw err
      }
      if (result instanceof Promise) return result.finally(() => depth--)
      depth--
      return result
    }
  }
  return counter
}

/** An honest seller with 100 listings, an honest node holding them, and a raw GossipSub attacker in its mesh. */
async function setup(): Promise<{ seller: MarketNode; honest: MarketNode; attacker: RawNode }> {
  const seller = await createMarketNode({ market: { provide: false } })
  const honest = await createMarketNode({ market: { provide: false } })
  const attacker = await rawNode()
  stops.push(
    () => seller.stop(),
    () => honest.stop(),
    () => attacker.stop()
  )
  await honest.dial(seller.getMultiaddrs())
  await seller.services.market.publishMany(Array.from({ length: 100 }, (_, i) => listingInput(`l${i}`)))
  await eventually(() => honest.services.market.find({ limit: 1_000 }).length === 100, 10_000, 'honest replica')
  attacker.services.pubsub.subscribe(TOPIC)
  await attacker.dial(honest.getMultiaddrs())
  const mesh = honest.services.pubsub as unknown as { getMeshPeers(topic: string): string[] }
  await eventually(() => mesh.getMeshPeers(TOPIC).includes(attacker.peerId.toString()), 10_000, 'attacker in mesh')
  return { seller, honest, attacker }
}

describe('GossipSub peer scoring on the marketplace topics', () => {
  it('graylists a peer that sends invalid updates; it costs at most 10 validations; honest nodes are unaffected', async () => {
    const { seller, honest, attacker } = await setup()
    const validations = countValidations(honest)
    const probe = probeFind(honest)
    const me = attacker.peerId.toString()
    // 3,000 distinct forged updates, hand-encoded: a first entry under a key of the attacker's own, holding no signed
    // record (each at clock 0, so each is plainly invalid rather than a gap).
    for (let i = 0; i < 3_000; i++) {
      const forged = rawUpdate([
        { client: clientIdOf(me), clock: 0, key: `${me}/x${i}`, content: new Uint8Array(64).fill(i) }
      ])
      await attacker.services.pubsub.publish(TOPIC, forged).catch(() => undefined)
      await remoteCpu()
    }
    const graylist = MARKETPLACE_SCORE_THRESHOLDS.graylistThreshold
    await eventually(() => scores(honest).getScore(me) < graylist, 10_000, 'attacker graylisted')
    await new Promise((r) => setTimeout(r, 500))
    const { worstMs, worstWallMs } = probe.stop()

    expect(scores(honest).acceptFrom(me)).toBe(false) // its RPCs are dropped unread from now on
    expect(validations.count).toBeLessThanOrEqual(INVALID_UPDATES_TO_GRAYLIST + 1)
    expect(worstMs).toBeLessThan(100)
    expect(scores(honest).getScore(seller.peerId.toString())).toBeGreaterThanOrEqual(0)
    expect(honest.services.market.find({ limit: 1_000 })).toHaveLength(100)
    await seller.services.market.publish(listingInput('after'))
    await eventually(() => honest.services.market.find({ limit: 1_000 }).length === 101, 5_000, 'update after')
    console.log(
      `graylisted: score ${Math.round(scores(honest).getScore(me))}, ${validations.count} validations, worst find() wait ${worstMs} ms (wall ${worstWallMs} ms)`
    )
  })

  it('updates that only "lack an earlier update" start at most one catch-up sync, then count as invalid', async () => {
    const { honest, attacker } = await setup()
    const me = attacker.peerId.toString()
    let syncs = 0
    const market = honest.services.market as unknown as { sync: (...args: unknown[]) => Promise<unknown> }
    const sync = market.sync.bind(market)
    market.sync = (...args: unknown[]) => {
      syncs++
      return sync(...args)
    }
    // Entries that extend an item nobody has: to the honest node they look like a gap (a missing earlier update).
    for (let i = 0; i < 200; i++) {
      const gap = rawUpdate([
        { client: clientIdOf(me), clock: 1_000 + i, origin: { client: clientIdOf(me), clock: 999 }, content: 1 }
      ])
      await attacker.services.pubsub.publish(TOPIC, gap).catch(() => undefined)
      await remoteCpu()
    }
    const graylist = MARKETPLACE_SCORE_THRESHOLDS.graylistThreshold
    await eventually(() => scores(honest).getScore(me) < graylist, 10_000, 'attacker graylisted')
    expect(syncs).toBeLessThanOrEqual(1)
    expect(honest.services.market.find({ limit: 1_000 })).toHaveLength(100)
  })

  it('replays of valid updates, republished as new messages, are not forwarded, and are scored past a budget', async () => {
    const { seller, honest, attacker } = await setup()
    const me = attacker.peerId.toString()
    // The attacker records the honest traffic it is sent; an observer sees what the honest node forwards.
    const captured: Uint8Array[] = []
    attacker.services.pubsub.addEventListener('message', (e) => {
      if (e.detail.topic === TOPIC) captured.push(e.detail.data)
    })
    const observer = await rawNode()
    stops.push(() => observer.stop())
    observer.services.pubsub.subscribe(TOPIC)
    await observer.dial(honest.getMultiaddrs())
    const mesh = honest.services.pubsub as unknown as { getMeshPeers(topic: string): string[] }
    await eventually(() => mesh.getMeshPeers(TOPIC).includes(observer.peerId.toString()), 10_000, 'observer in mesh')
    let forwarded = 0
    observer.services.pubsub.addEventListener('message', (e) => {
      if (e.detail.topic === TOPIC) forwarded++
    })
    await seller.services.market.publish(listingInput('l0', { name: 'renamed' }))
    await eventually(() => captured.length > 0 && forwarded > 0, 5_000, 'honest update seen by both')
    const before = forwarded

    for (let i = 0; i < 200; i++) {
      await attacker.services.pubsub.publish(TOPIC, captured[i % captured.length]!).catch(() => undefined)
      await remoteCpu()
    }
    const graylist = MARKETPLACE_SCORE_THRESHOLDS.graylistThreshold
    await eventually(() => scores(honest).getScore(me) < graylist, 10_000, 'replayer graylisted')
    expect(forwarded).toBe(before) // no replay went further
    expect(honest.services.market.get(`${seller.peerId}/l0`)?.name).toBe('renamed')
    expect(honest.services.market.find({ limit: 1_000 })).toHaveLength(100)
  })
})
