import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { entryClientId } from '../src/core/client-id.ts'
import { canonical, signRecord, verifyRecord } from '../src/core/envelope.ts'
import { ListingRecordSchema, listingKey } from '../src/core/listing.ts'
import { MarketplaceDoc } from '../src/core/marketplace-doc.ts'
import { LISTINGS_MAP } from '../src/core/validate.ts'
import { InvalidListingError, RejectedUpdateError } from '../src/errors.ts'
import { type ConnectorOptions, fingerprint, TestConnector } from './helpers/connector.ts'
import { randomRecord } from './helpers/listings.ts'
import { fixedInput, testPeer } from './helpers/peers.ts'
import { Prng } from './helpers/prng.ts'

const SEEDS = [1, 42, 1337, 0xbe7a, 20_240_611]
const STEPS = 400
const MINUTE = 60_000

const base: Omit<ConnectorOptions, 'maxOfflineMs'> = {
  peers: 6,
  maxLatencyMs: 2 * MINUTE,
  /** Below the 5 min grace, as a node's GC timer must be (the service's default is 1 min). */
  gcIntervalMs: 3 * MINUTE,
  ttlMs: [MINUTE, 20 * MINUTE],
  tickMs: 30_000
}

/** Relative weights of the random steps. */
const ACTIONS = {
  publish: 18,
  update: 14,
  delist: 6,
  relist: 2,
  disconnect: 5,
  reconnect: 6,
  flush: 26,
  advance: 15,
  longJump: 1,
  gc: 7
} as const

async function run(seed: number, options: ConnectorOptions): Promise<TestConnector> {
  const r = new Prng(seed)
  const tc = await TestConnector.create(r.fork(), options, `seed ${seed}`)
  for (let step = 0; step < STEPS; step++) {
    tc.stats.steps = step
    const replica = r.pick(tc.replicas)
    switch (r.weighted(ACTIONS)) {
      case 'publish':
        await tc.publishNew(replica)
        break
      case 'update':
        await tc.updateMine(replica)
        break
      case 'delist':
        await tc.delistMine(replica)
        break
      case 'relist':
        await tc.relist(replica)
        break
      case 'disconnect':
        if (replica.online) tc.disconnect(replica)
        break
      case 'reconnect': {
        const offline = tc.replicas.filter((p) => !p.online)
        if (offline.length > 0) tc.reconnect(r.pick(offline))
        break
      }
      case 'flush':
        tc.flushSome()
        break
      case 'advance':
        tc.advance(r.int(1_000, 150_000))
        break
      case 'longJump': // hours, past the 24 h retention of delistings at times
        tc.advance(r.int(2 * 60, 26 * 60) * MINUTE)
        break
      case 'gc':
        tc.collect(replica)
        break
    }
    tc.checkAll(step % 50 === 0)
  }
  tc.stats.steps = STEPS
  tc.settle()
  tc.checkAll(true)
  return tc
}

function expectConverged(tc: TestConnector): void {
  const [first, ...rest] = tc.replicas.map((p) => fingerprint(p.market))
  for (const [i, other] of rest.entries()) expect(other, `${tc.label}: replica #${i + 1} vs #0`).toEqual(first)
  expect(first?.listings, `${tc.label}: each seller's latest live write, nothing lost`).toEqual(tc.expectedListings())
}

describe.each([
  // Outages shorter than the shortest TTL plus the grace period: no peer misses an entry that is collected meanwhile.
  { outages: 'short outages', maxOfflineMs: 3 * MINUTE },
  // Peers stay away as long as the dice say, across expiries, collections and 24 h jumps.
  { outages: 'long outages', maxOfflineMs: Number.POSITIVE_INFINITY }
])('randomized convergence of 6 replicas, $outages', ({ maxOfflineMs }) => {
  it.each(SEEDS)('seed %i', async (seed) => {
    const tc = await run(seed, { ...base, maxOfflineMs })
    expectConverged(tc)
    expect(tc.stats.published).toBeGreaterThan(0)
    expect(tc.stats.collected).toBeGreaterThan(0)
  })
})

describe('sync after garbage collection', () => {
  const T = 1_700_000_000_000

  it('a replica that never saw a listing accepts the state of a peer that has since collected it', async () => {
    let now = T
    const seller = await testPeer(1, () => now)
    const late = await testPeer(2, () => now)
    await seller.market.publish(fixedInput('x', MINUTE))
    now += MINUTE + 5 * MINUTE + 1 // past expiry and grace
    expect(seller.market.collectGarbage()).toBe(1)
    await seller.market.publish(fixedInput('y', 10 * MINUTE))
    expect(() => late.market.applyRemote(seller.market.diff(late.market.stateVector()))).not.toThrow()
    expect(fingerprint(late.market)).toEqual(fingerprint(seller.market))
  })

  it('a replica that missed a short-lived refresh, collected since, converges on the refresh', async () => {
    let now = T
    const seller = await testPeer(1, () => now)
    const late = await testPeer(2, () => now)
    await seller.market.publish(fixedInput('x', 20 * MINUTE))
    late.market.applyRemote(seller.market.diff())
    now += 1000
    await seller.market.publish({ ...fixedInput('x', MINUTE), name: 'renamed' }) // `late` is offline
    now += MINUTE + 5 * MINUTE + 1
    expect(seller.market.collectGarbage()).toBe(1)
    expect(() => late.market.applyRemote(seller.market.diff(late.market.stateVector()))).not.toThrow()
    expect(late.market.listings()).toEqual([]) // not the stale first version, 14 minutes from expiry
  })

  it('an entry relayed within one GC interval per hop stays syncable', async () => {
    let now = T
    const nodes = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((seed) => testPeer(seed, () => now)))
    const [seller, ...others] = nodes
    await seller!.market.publish(fixedInput('x', MINUTE))
    // Each hop happens 55 s after the previous one: within a 60 s GC timer, so no node has collected x yet. Today the
    // 6th hop is refused (x is then past collection + grace): live copies must not be relayed that stale.
    let from = seller!
    now += MINUTE + 5 * MINUTE // collectable from here on
    for (const [hop, to] of others.entries()) {
      now += 55_000
      expect(() => to.market.applyRemote(from.market.diff(to.market.stateVector())), `hop ${hop + 1}`).not.toThrow()
      from = to
    }
  })

  it("a seller's own listings() matches what its peers verify (values JSON cannot carry)", async () => {
    const seller = await testPeer(1, () => T)
    const peer = await testPeer(2, () => T)
    await seller.market.publish({ ...fixedInput('x', MINUTE), inputSchema: { type: 'number', maximum: Infinity } })
    peer.market.applyRemote(seller.market.diff())
    expect(peer.market.listings()).toEqual(seller.market.listings())
  })
})

describe('signed listing envelope (seeded properties)', () => {
  const RECORDS = 24
  /** Envelopes whose every byte is flipped; the others get a random sample of positions. */
  const EXHAUSTIVE = 2
  const SAMPLED = 48

  it.each(SEEDS)('seed %i: random valid records round-trip, and no single-byte flip goes unnoticed', async (seed) => {
    const r = new Prng(seed)
    const sellers = await Promise.all([1, 2, 3].map((i) => testPeer((seed + i) & 0xff, () => 0)))
    let flips = 0
    for (let n = 0; n < RECORDS; n++) {
      const seller = r.pick(sellers)
      const record = randomRecord(r, seller.id)
      const signed = await signRecord(record, seller.key)
      expect(signed.record).toEqual(ListingRecordSchema.parse(record))
      const verified = verifyRecord(signed.bytes)
      expect(verified.record).toEqual(record)
      expect(verified.bytes).toEqual(signed.bytes)
      const envelope = JSON.parse(new TextDecoder().decode(signed.bytes)) as { p: string }
      expect(envelope.p).toBe(canonical(verified.record))
      // The signature commits to the bytes: re-signing the verified record gives the same payload.
      expect((await signRecord(verified.record, seller.key)).bytes).toEqual(signed.bytes)

      const positions =
        n < EXHAUSTIVE
          ? Array.from(signed.bytes.keys())
          : Array.from({ length: SAMPLED }, () => r.int(0, signed.bytes.length - 1))
      for (const i of positions) {
        const mutated = signed.bytes.slice()
        mutated[i] = (mutated[i] ?? 0) ^ r.int(1, 255)
        flips++
        let out: ReturnType<typeof verifyRecord> | undefined
        try {
          out = verifyRecord(mutated)
        } catch {
          continue
        }
        expect(out.record, `seed ${seed}, record ${n}: byte ${i} flipped, still verifies`).not.toEqual(signed.record)
      }
    }
    expect(flips).toBeGreaterThan(RECORDS * SAMPLED)
  })

  it('verifyRecord reports a malformed signature as InvalidListingError, as documented', async () => {
    const seller = await testPeer(1, () => 0)
    const signed = await signRecord(randomRecord(new Prng(7), seller.id), seller.key)
    const envelope = JSON.parse(new TextDecoder().decode(signed.bytes)) as { p: string; s: string }
    const bytes = new TextEncoder().encode(JSON.stringify({ ...envelope, s: `${envelope.s.slice(0, -1)}!` }))
    expect(() => verifyRecord(bytes)).toThrow(InvalidListingError)
  })

  it('a validly signed payload with a "__proto__" member is refused: zod would drop it (fuzzing, issue 13)', async () => {
    const seller = await testPeer(1, () => 0)
    let record = randomRecord(new Prng(9), seller.id)
    for (let seed = 10; record.kind !== 'listing'; seed++) record = randomRecord(new Prng(seed), seller.id)
    // What a hostile seller signs by hand: its own payload, with a member `JSON.parse` keeps and zod drops.
    const payload = canonical(record).replace('{', '{"__proto__":{"polluted":true},')
    const domain = new TextEncoder().encode('betar/marketplace/listing/v1\n')
    const body = new TextEncoder().encode(payload)
    const signature = await seller.key.sign(new Uint8Array([...domain, ...body]))
    const bytes = new TextEncoder().encode(
      JSON.stringify({ p: payload, s: Buffer.from(signature).toString('base64url') })
    )
    expect(() => verifyRecord(bytes)).toThrow(expect.objectContaining({ name: 'InvalidListingError' }))
    // the same payload without the member verifies: the refusal is for the member, not the signature
    const plain = canonical(record)
    const plainSignature = await seller.key.sign(new Uint8Array([...domain, ...new TextEncoder().encode(plain)]))
    const plainBytes = new TextEncoder().encode(
      JSON.stringify({ p: plain, s: Buffer.from(plainSignature).toString('base64url') })
    )
    expect(verifyRecord(plainBytes).record).toEqual(record)
  })
})

describe('a replica never shows a listing its seller did not sign, whatever the path', () => {
  it('a state sync (applyRemoteBulk) does not accept a signature verified for another payload of the same length', async () => {
    const now = () => 1_700_000_000_000
    const seller = await testPeer(1, now)
    await seller.market.publish(fixedInput('a', 10 * MINUTE))
    const key = listingKey(seller.id, 'a')
    const genuine = seller.market.entry(key)!
    const envelope = JSON.parse(new TextDecoder().decode(genuine)) as { p: string; s: string }
    // Same length, newer, paying someone else: the seller never signed this.
    const p = envelope.p
      .replace('0x70997970C51812dc3A010C7d01b50e0d17dc79C8', '0x000000000000000000000000000000000000dEaD')
      .replace(/"updatedAt":(\d+)/, (_, n: string) => `"updatedAt":${Number(n) + 1}`)
      .replace('"seq":0', '"seq":1') // the next slot of the key's chain
    expect(p).toHaveLength(envelope.p.length)
    const forged = new TextEncoder().encode(JSON.stringify({ p, s: envelope.s }))
    // A hostile peer's sync answer: the genuine entry, then the forgery on top of it, under the key's client id.
    const doc = new Y.Doc({ gc: false })
    doc.clientID = entryClientId(key)
    doc.getMap<Uint8Array>(LISTINGS_MAP).set(key, genuine)
    doc.getMap<Uint8Array>(LISTINGS_MAP).set(key, forged)
    const update = Y.encodeStateAsUpdate(doc)

    const plain = new MarketplaceDoc({ peerId: (await testPeer(2, now)).id, now })
    expect(() => plain.applyRemote(update)).toThrow(/signature does not verify/)
    const bulk = new MarketplaceDoc({ peerId: (await testPeer(3, now)).id, now })
    await expect(bulk.applyRemoteBulk(update)).rejects.toThrow(RejectedUpdateError)
    expect(bulk.get(key)?.price.payTo).not.toBe('0x000000000000000000000000000000000000dEaD')
  })
})

describe('a restarted seller', () => {
  const T = 1_700_000_000_000

  it('restored from its own snapshot, continues its chains: its next version is accepted by peers', async () => {
    let now = T
    const seller = await testPeer(1, () => now)
    const buyer = await testPeer(2, () => now)
    await seller.market.publish(fixedInput('x', 10 * MINUTE))
    buyer.market.applyRemote(seller.market.diff(buyer.market.stateVector()))

    // The process restarts: a new document with the same peer, restored from what it persisted.
    const restarted = new MarketplaceDoc({ peerId: seller.id, privateKey: seller.key, now: () => now })
    expect(restarted.restore(seller.market.snapshot())).toBe(true)
    now += 1_000
    await restarted.publish({ ...fixedInput('x', 10 * MINUTE), name: 'after restart' })
    expect(() => buyer.market.applyRemote(restarted.diff(buyer.market.stateVector()))).not.toThrow()
    expect(buyer.market.listings().map((l) => l.name)).toEqual(['after restart'])
  })

  it('that learns its own entries back from a peer continues its chains', async () => {
    let now = T
    const seller = await testPeer(1, () => now)
    const peer = await testPeer(2, () => now)
    await seller.market.publish(fixedInput('x', 10 * MINUTE))
    peer.market.applyRemote(seller.market.diff(peer.market.stateVector()))
    const restarted = new MarketplaceDoc({ peerId: seller.id, privateKey: seller.key, now: () => now })
    restarted.applyRemote(peer.market.diff(restarted.stateVector()))
    now += 1_000
    await restarted.publish({ ...fixedInput('x', 10 * MINUTE), name: 'refreshed' })
    expect(() => peer.market.applyRemote(restarted.diff(peer.market.stateVector()))).not.toThrow()
    expect(peer.market.listings().map((l) => l.name)).toEqual(['refreshed'])
  })
})

describe('state in chunks (diffChunks)', () => {
  it('each chunk is valid on its own, and all of them give what diff() gives', async () => {
    let now = 1_700_000_000_000
    const sellers = await Promise.all([1, 2, 3, 4, 5].map((seed) => testPeer(seed, () => now)))
    const source = new MarketplaceDoc({ peerId: 'source', now: () => now })
    for (const seller of sellers) {
      seller.market.addEventListener('update', (e) => source.applyRemote(e.detail.update))
      await seller.market.publishMany(Array.from({ length: 20 }, (_, i) => fixedInput(`l${i}`, 10 * MINUTE)))
      now += 1_000
      await seller.market.publishMany(Array.from({ length: 20 }, (_, i) => fixedInput(`l${i}`, 10 * MINUTE)))
      await seller.market.publish(fixedInput('short', MINUTE))
      await seller.market.delist('l3')
    }
    now += 10 * MINUTE // the short ones are collected on the source: deletions of others' entries
    expect(source.collectGarbage()).toBeGreaterThan(0)
    for (const known of [0, 2]) {
      const peer = new MarketplaceDoc({ peerId: 'peer', now: () => now })
      const reference = new MarketplaceDoc({ peerId: 'reference', now: () => now })
      for (const seller of sellers.slice(0, known)) {
        peer.applyRemote(seller.market.diff())
        reference.applyRemote(seller.market.diff())
      }
      const chunks = [...source.diffChunks(peer.stateVector(), 8 * 1024)]
      expect(chunks.length).toBeGreaterThan(2)
      for (const chunk of chunks) expect(peer.applyRemote(chunk).dropped).toEqual([])
      reference.applyRemote(source.diff(reference.stateVector()), { maxUpdateSize: 1 << 24, maxStructs: 1 << 20 })
      expect(fingerprint(peer)).toEqual(fingerprint(reference))
      expect(fingerprint(peer).listings).toEqual(fingerprint(source).listings)
    }
  })
})
