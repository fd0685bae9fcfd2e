import { generateKeyPair, generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { describe, expect, it } from 'vitest'
import { EpochedMarketplace } from '../src/core/epochs.ts'
import { MarketplaceDoc } from '../src/core/marketplace-doc.ts'
import { EpochStore } from '../src/service/persistence.ts'
import { listingInput } from './fixtures/listing.ts'
import { watchEventLoop } from './helpers/stall.ts'

/*
 * Review of issue 12 (persistence log/parts, shard splits, signature workers, reused plans) by a reviewer who did not
 * build it. Each `it.fails` names a defect that is still open; flip it to `it` once fixed.
 */

const MINUTE = 60_000
const BIG = { maxUpdateSize: 1 << 26, maxStructs: 1 << 22 }

async function identity(seed?: number) {
  const privateKey =
    seed != null
      ? await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(seed))
      : await generateKeyPair('Ed25519')
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString() }
}

/** A MemoryDatastore whose next `failures` batch commits throw (a full disk, an I/O error, or a crash at that point). */
function failingBatches(datastore: MemoryDatastore): { fail(n: number): void } {
  let failures = 0
  const batch = datastore.batch.bind(datastore)
  datastore.batch = () => {
    const b = batch()
    const commit = b.commit.bind(b)
    b.commit = async () => {
      if (failures > 0) {
        failures--
        throw new Error('EIO')
      }
      return commit()
    }
    return b
  }
  return { fail: (n) => (failures = n) }
}

describe('review 12: persistence', () => {
  // FIXED (migration lost the epoch): `EpochStore.restore` deleted the earlier whole-document snapshot
  // (`/betar/marketplace/epoch/<e>`) before `save(market, true)` has committed the parts that replace it. If that commit
  // fails, or the process dies in between (reproduced with kill -9 of a real process on datastore-level right after the
  // delete: 6,300 listings restored as 0), the node's whole stored marketplace is gone. The delete belongs in the batch
  // that writes the parts.
  it('migrating the earlier snapshot format never deletes it before its parts are stored', async () => {
    const { privateKey, peerId } = await identity()
    const seller = new EpochedMarketplace({ peerId, privateKey })
    await seller.publishMany(Array.from({ length: 30 }, (_, i) => listingInput(`m${i}`)))
    const epoch = seller.epochs()[0] as number
    const datastore = new MemoryDatastore()
    await datastore.put(new Key(`/betar/marketplace/epoch/${epoch}`), seller.doc(epoch)!.snapshot())
    const disk = failingBatches(datastore)

    disk.fail(1)
    await expect(new EpochStore(datastore).restore(new EpochedMarketplace({ peerId }))).rejects.toThrow('EIO')

    const restarted = new EpochedMarketplace({ peerId })
    await new EpochStore(datastore).restore(restarted)
    expect(restarted.listings()).toHaveLength(30)
  })

  // FIXED (quadratic restore): `restore` gathered log records with `log.set(e, [...(log.get(e) ?? []), entry])`, copying
  // the array for every record: 5,000 records 0.13 s, 20,000 2.1 s, 40,000 10.6 s on the review machine. A node holding
  // the 100,000 listings (≈ 90 MB of records) folds its log only once it passes ≈ 90 MB, i.e. after 10,000–
  // 100,000 gossip messages (one record each): its restart would take minutes. Same pattern for parts (bounded: ≤ 73).
  it('restoring a long log costs time linear in its records', async () => {
    const market = new EpochedMarketplace({ peerId: 'node' })
    const epoch = market.epochs()[0] as number
    const datastore = new MemoryDatastore()
    const empty = Uint8Array.from([0, 0]) // stands for one logged gossip update; its content does not matter here
    const n = 30_000
    for (let seq = 0; seq < n; seq++) {
      await datastore.put(new Key(`/betar/marketplace/log/${epoch}/${String(seq).padStart(12, '0')}`), empty)
    }
    const t0 = performance.now()
    await new EpochStore(datastore).restore(market)
    // Linear: ≈ 0.2 s here. Quadratic: ≈ 5 s.
    expect(performance.now() - t0).toBeLessThan(2_500)
  }, 60_000)

  // FIXED (one lost log record cost unrelated listings): `restoreLog` replayed each logged update all or nothing
  // (`EntryStore.restoreV1`). When one record was missing or unreadable, every later record that continued any key of it
  // hit a gap and was skipped whole — with every other key it carried. Here record 0 held only `a` v2; record 1 held
  // `a` v3 and 50 new listings: all 50 were lost, and the fold that ends `restore` deleted the log, so they were lost
  // from disk too. Now the log is replayed key by key (`EntryStore.replayV1`), and a record not wholly restored is kept.
  it('a missing log record loses only the keys it continues, not the rest of later records', async () => {
    const { privateKey, peerId } = await identity()
    const node = new EpochedMarketplace({ peerId, privateKey })
    const datastore = new MemoryDatastore()
    const store = new EpochStore(datastore)
    node.addEventListener('update', (e) => store.record(e.detail.epoch, e.detail.update))
    await node.publishMany([listingInput('a'), listingInput('b')])
    await store.save(node, true) // parts
    await node.publishMany([listingInput('a', { name: 'a v2' })])
    await store.save(node) // log record 0
    await node.publishMany([
      listingInput('a', { name: 'a v3' }),
      ...Array.from({ length: 50 }, (_, i) => listingInput(`n${i}`))
    ])
    await store.save(node) // log record 1
    const log: Key[] = []
    for await (const key of datastore.queryKeys({ prefix: '/betar/marketplace/log/' })) log.push(key)
    expect(log).toHaveLength(2)
    await datastore.delete(log.sort((x, y) => (x.toString() < y.toString() ? -1 : 1))[0] as Key)

    const restarted = new EpochedMarketplace({ peerId, privateKey })
    await new EpochStore(datastore).restore(restarted)
    // `a` may fall back to v1 (its v2 is gone, v3 builds on it); the 50 new listings were saved and must be there.
    expect(restarted.listings().filter((l) => l.id.startsWith('n'))).toHaveLength(50)
  })
})

describe('review 12: a log replayed key by key', () => {
  /** A node with parts (`a`, `b`), then log records: 0 = `a` v2, 1 = `a` v3 + `n0…n9`, 2 = `c`. */
  async function logged() {
    const { privateKey, peerId } = await identity(11)
    const node = new EpochedMarketplace({ peerId, privateKey })
    const datastore = new MemoryDatastore()
    const store = new EpochStore(datastore)
    node.addEventListener('update', (e) => store.record(e.detail.epoch, e.detail.update))
    await node.publishMany([listingInput('a'), listingInput('b')])
    await store.save(node, true)
    await node.publishMany([listingInput('a', { name: 'a v2' })])
    await store.save(node)
    await node.publishMany([
      listingInput('a', { name: 'a v3' }),
      ...Array.from({ length: 10 }, (_, i) => listingInput(`n${i}`))
    ])
    await store.save(node)
    await node.publishMany([listingInput('c')])
    await store.save(node)
    const log = async () => {
      const keys: string[] = []
      for await (const key of datastore.queryKeys({ prefix: '/betar/marketplace/log/' })) keys.push(key.toString())
      return keys.sort()
    }
    const records = await log()
    expect(records).toHaveLength(3)
    return { node, peerId, privateKey, datastore, log, records, epoch: node.epochs()[0] as number }
  }

  it('a record not wholly restored stays in the log until a sync brings what it lacks', async () => {
    const { node, peerId, privateKey, datastore, log, records, epoch } = await logged()
    await datastore.delete(new Key(records[0] as string))

    const restarted = new EpochedMarketplace({ peerId, privateKey })
    const store = new EpochStore(datastore)
    await store.restore(restarted)
    expect(restarted.listings()).toHaveLength(13) // a, b, c, n0…n9
    expect(restarted.get(`${peerId}/a`)?.name).toBe('Agent a') // `a` fell back to v1
    // The fold folded what was restored (record 2) and kept record 1: its `a` v3 is not in the parts.
    expect(await log()).toEqual([records[1]])

    // Another restart replays it again: nothing lost, nothing doubled.
    const again = new EpochedMarketplace({ peerId, privateKey })
    await new EpochStore(datastore).restore(again)
    expect(again.listings()).toHaveLength(13)
    expect(await log()).toEqual([records[1]])

    // A sync brings `a` v2 and v3: the next fold stores them, and the kept record goes.
    const final = new EpochedMarketplace({ peerId, privateKey })
    const finalStore = new EpochStore(datastore)
    await finalStore.restore(final)
    final.doc(epoch)?.applyRemote(node.doc(epoch)?.diff() as Uint8Array, { partial: true })
    expect(final.get(`${peerId}/a`)?.name).toBe('a v3')
    await finalStore.save(final, true)
    expect(await log()).toEqual([])
    const last = new EpochedMarketplace({ peerId, privateKey })
    await new EpochStore(datastore).restore(last)
    expect(last.get(`${peerId}/a`)?.name).toBe('a v3')
    expect(last.listings()).toHaveLength(13)
  })

  it('an unreadable record is kept and skipped; the records after it are restored', async () => {
    const { peerId, privateKey, datastore, log, records } = await logged()
    await datastore.put(new Key(records[0] as string), Uint8Array.from([7, 7, 7]))
    const restarted = new EpochedMarketplace({ peerId, privateKey })
    await new EpochStore(datastore).restore(restarted)
    expect(restarted.listings()).toHaveLength(13)
    expect(await log()).toEqual([records[0], records[1]])
  })
})

describe('review 12: events and views', () => {
  // FIXED (spurious events on sync): an entry that arrives already collected "never becomes visible" (threat model,
  // rule 7) and `applyRemote` reports nothing for it; `applyRemoteBulk` — the sync path — committed the chains step by
  // step and the delete ranges only at the end, so each such entry was live in between: `listing:added` (an expired
  // listing) then `listing:removed` fired for every one (100 collected entries: 200 events). Each step now commits its
  // chains with their own delete ranges, in one transaction, as `applyRemote` does.
  it('a sync of collected entries reports no listing events, as applyRemote does', async () => {
    let t = 1_700_000_000_000
    const now = () => t
    const { privateKey, peerId } = await identity(7)
    const seller = new MarketplaceDoc({ peerId, privateKey, now })
    await seller.publishMany(Array.from({ length: 100 }, (_, i) => listingInput(`x${i}`, { ttlMs: MINUTE })))
    t += 20 * MINUTE
    expect(seller.collectGarbage()).toBe(100)

    const counted = async (apply: (doc: MarketplaceDoc) => Promise<unknown>) => {
      const doc = new MarketplaceDoc({ peerId: 'replica', now })
      const events: string[] = []
      for (const type of ['listing:added', 'listing:updated', 'listing:removed'] as const) {
        doc.addEventListener(type, () => events.push(type))
      }
      await apply(doc)
      expect(doc.listings()).toHaveLength(0)
      return events
    }
    expect(await counted(async (doc) => doc.applyRemote(seller.diff(), { partial: true }))).toEqual([])
    expect(await counted((doc) => doc.applyRemoteBulk(seller.diff(), { partial: true }))).toEqual([])
  })

  // Edge of the fix above: a replica holding older live versions, and a sync that brings newer versions arriving
  // collected plus live ones. Both paths must report the same events (removed for the collected, added for the new).
  it('a sync reports what applyRemote reports when collected versions supersede live ones', async () => {
    let t = 1_700_000_000_000
    const now = () => t
    const { privateKey, peerId } = await identity(8)
    const seller = new MarketplaceDoc({ peerId, privateKey, now })
    const first: Uint8Array[] = []
    seller.addEventListener('update', (e) => first.push(e.detail.update))
    await seller.publishMany(Array.from({ length: 20 }, (_, i) => listingInput(`x${i}`, { ttlMs: MINUTE })))
    const firstUpdate = first[0] as Uint8Array
    t += MINUTE / 2
    await seller.publishMany(Array.from({ length: 10 }, (_, i) => listingInput(`x${i}`, { ttlMs: MINUTE })))
    t += 20 * MINUTE
    expect(seller.collectGarbage()).toBe(20)
    await seller.publishMany(Array.from({ length: 5 }, (_, i) => listingInput(`y${i}`, { ttlMs: 10 * MINUTE })))

    const events = async (apply: (doc: MarketplaceDoc) => Promise<unknown>) => {
      const doc = new MarketplaceDoc({ peerId: 'replica', now: () => t - 20 * MINUTE })
      doc.applyRemote(firstUpdate) // the first versions, live when they arrived
      const seen: string[] = []
      for (const type of ['listing:added', 'listing:updated', 'listing:removed'] as const) {
        doc.addEventListener(type, (e) => seen.push(`${type} ${'key' in e.detail ? e.detail.key : e.detail.id}`))
      }
      ;(doc as unknown as { now: () => number }).now = now
      await apply(doc)
      expect(
        doc
          .listings()
          .map((l) => l.id)
          .sort()
      ).toEqual(['y0', 'y1', 'y2', 'y3', 'y4'])
      return seen.sort()
    }
    const once = await events(async (doc) => doc.applyRemote(seller.diff(), { partial: true }))
    expect(once.filter((e) => e.startsWith('listing:removed'))).toHaveLength(20)
    expect(once.filter((e) => e.startsWith('listing:added'))).toHaveLength(5)
    expect(await events((doc) => doc.applyRemoteBulk(seller.diff(), { partial: true }))).toEqual(once)
  })

  // FIXED (rollback across epochs; epochs.ts): the merged view is "per key, the newest record across epochs", but once
  // the current epoch's version was collected the key had no record there, and the view fell back to the previous
  // epoch's version — which the seller superseded (old price, old payTo shown again until it expired). The previous
  // epoch's document also accepted that old version from any replaying peer (`versionFloor` only saw live records).
  // Now a collected version (`MarketplaceDoc.collectedVersion`, read from the collected item the store keeps, so it
  // survives a restart) is a floor for the view and for every epoch's validation.
  it("a collected version never brings back the previous epoch's older version of the key", async () => {
    const HOUR = 60 * MINUTE
    const start = Math.floor(1_700_000_000_000 / HOUR) * HOUR
    let t = start - 10 * MINUTE
    const now = () => t
    const { privateKey, peerId } = await identity(9)
    const seller = new EpochedMarketplace({ peerId, privateKey, epochMs: HOUR, now })
    const observer = new EpochedMarketplace({ peerId: 'observer', epochMs: HOUR, now })
    seller.addEventListener('update', (e) => {
      if (e.detail.local) observer.doc(e.detail.epoch)?.applyRemote(e.detail.update)
    })
    const key = `${peerId}/k`
    await seller.publishMany([listingInput('k', { name: 'old price', ttlMs: 50 * MINUTE })])
    t = start + MINUTE // the next epoch
    await seller.publishMany([listingInput('k', { name: 'new price, ends soon', ttlMs: 2 * MINUTE })])
    expect(observer.get(key)?.name).toBe('new price, ends soon')
    t = start + 4 * MINUTE
    expect(observer.get(key)).toBeUndefined() // expired
    t = start + 9 * MINUTE // past expiry + grace: collected
    seller.collectGarbage()
    observer.collectGarbage()
    expect(seller.get(key)?.name).toBeUndefined()
    expect(observer.get(key)?.name).toBeUndefined()
  })
})

describe('review 12: a collected version is a floor across epochs', () => {
  const HOUR = 60 * MINUTE
  const start = Math.floor(1_700_000_000_000 / HOUR) * HOUR

  /** A seller whose key `k` has an old version in the previous epoch and a newer one, collected, in the current. */
  async function supersededThenCollected() {
    let t = start - 10 * MINUTE
    const clock = { now: () => t, set: (v: number) => (t = v) }
    const { privateKey, peerId } = await identity(10)
    const seller = new EpochedMarketplace({ peerId, privateKey, epochMs: HOUR, now: clock.now })
    await seller.publishMany([listingInput('k', { name: 'old price', ttlMs: 50 * MINUTE })])
    const previous = seller.epochOf()
    t = start + MINUTE
    await seller.publishMany([listingInput('k', { name: 'new price, ends soon', ttlMs: 2 * MINUTE })])
    t = start + 9 * MINUTE
    seller.collectGarbage()
    return { seller, peerId, clock, key: `${peerId}/k`, previous, current: previous + 1 }
  }

  it("a replaying peer cannot bring the superseded version back into the previous epoch's document", async () => {
    const { seller, clock, key, previous, current } = await supersededThenCollected()
    const late = new EpochedMarketplace({ peerId: 'late', epochMs: HOUR, now: clock.now })
    // The current epoch first: its entry arrives collected.
    late.doc(current)?.applyRemote(seller.doc(current)?.diff() as Uint8Array, { partial: true })
    const replay = late.doc(previous)?.applyRemote(seller.doc(previous)?.diff() as Uint8Array, { partial: true })
    expect(replay?.dropped.map((d) => d.kind)).toEqual(['stale'])
    expect(late.doc(previous)?.record(key)).toBeUndefined()
    expect(late.get(key)).toBeUndefined()
  })

  it('the floor holds after a restart, whichever epoch is restored first', async () => {
    const { seller, peerId, clock, key, previous, current } = await supersededThenCollected()
    const datastore = new MemoryDatastore()
    await new EpochStore(datastore).save(seller, true)
    const restarted = new EpochedMarketplace({ peerId, epochMs: HOUR, now: clock.now })
    const added: string[] = []
    restarted.addEventListener('listing:added', (e) => added.push(e.detail.name))
    await new EpochStore(datastore).restore(restarted)
    expect(restarted.get(key)).toBeUndefined()
    expect(restarted.listings()).toHaveLength(0)
    expect(restarted.doc(previous)?.collectedVersion(key)).toBeUndefined()
    expect(restarted.doc(current)?.collectedVersion(key)).toBe(seller.doc(current)?.collectedVersion(key))
    expect(added).toEqual([])
    for (const order of [
      [previous, current],
      [current, previous]
    ]) {
      const node = new EpochedMarketplace({ peerId, epochMs: HOUR, now: clock.now })
      for (const e of order) node.doc(e)?.restoreParts([seller.doc(e)?.part(0) as Uint8Array])
      expect((node.doc(previous)?.record(key) as { name?: string } | undefined)?.name).toBe('old price') // held there, superseded
      expect(node.get(key)).toBeUndefined()
    }

    // A node that restarts holding only the collected version refuses the old one from a replaying peer.
    const onlyCurrent = new MemoryDatastore()
    const store = new EpochStore(onlyCurrent)
    const late = new EpochedMarketplace({ peerId: 'late', epochMs: HOUR, now: clock.now })
    late.doc(current)?.applyRemote(seller.doc(current)?.diff() as Uint8Array, { partial: true })
    await store.save(late, true)
    const lateAgain = new EpochedMarketplace({ peerId: 'late', epochMs: HOUR, now: clock.now })
    await new EpochStore(onlyCurrent).restore(lateAgain)
    const replay = lateAgain.doc(previous)?.applyRemote(seller.doc(previous)?.diff() as Uint8Array, { partial: true })
    expect(replay?.dropped.map((d) => d.kind)).toEqual(['stale'])
    expect(lateAgain.get(key)).toBeUndefined()
  })
})

describe('review 12: shard splits', () => {
  // FIXED (split stall with large records): a split moved a shard's whole state in one synchronous step (encode, scan,
  // apply to eight documents). With ordinary ~0.8 KB records that is ≈ 25–30 ms here, but records may be 16 KiB
  // (`inputSchema`, multiaddrs): 8 peer ids, each within its 4 MiB quota, fill a shard with 2,048 such keys (≈ 30 MB),
  // and the update that tipped it over held the event loop 70–90 ms on the review machine. A split now runs in steps of
  // about one slice (8 ms) with the event loop let through in between (`EntryStore.splitStep`); a bulk apply waits for
  // it. (Measured here: 8–20 ms per step; an idle machine is needed for the 50 ms bound to mean anything.)
  it('the split of a shard of 16 KiB records never holds the event loop 50 ms', async () => {
    const fat = { blob: 'x'.repeat(15_200) }
    const node = new MarketplaceDoc({ peerId: 'node' })
    const perSeller = 250 // ≈ 3.9 MiB of records each: within the 4 MiB quota
    let held = 0
    for (let s = 0; held < 2_048; s++) {
      const { privateKey, peerId } = await identity(100 + s)
      const seller = new MarketplaceDoc({ peerId, privateKey })
      const n = Math.min(perSeller, 2_048 - held)
      await seller.publishMany(Array.from({ length: n }, (_, i) => listingInput(`s${i}`, { inputSchema: fat })))
      held += n
      for (const chunk of seller.diffChunks()) await node.applyRemoteBulk(chunk, BIG)
    }
    expect(node.listings()).toHaveLength(2_048)
    const shards = () =>
      (node as unknown as { store: { layout: { live: Map<number, unknown> } } }).store.layout.live.size
    expect(shards()).toBe(1)
    const { privateKey, peerId } = await identity(99)
    const attacker = new MarketplaceDoc({ peerId, privateKey })
    const updates: Uint8Array[] = []
    attacker.addEventListener('update', (e) => updates.push(e.detail.update))
    await attacker.publishMany(Array.from({ length: 50 }, (_, i) => listingInput(`a${i}`, { inputSchema: fat })))
    expect(updates[0]?.byteLength).toBeLessThan(1024 * 1024) // one gossip message

    const loop = watchEventLoop()
    await node.applyRemoteBulk(updates[0] as Uint8Array)
    await new Promise((resolve) => setTimeout(resolve, 10))
    const stall = loop.stop()
    expect(node.listings()).toHaveLength(2_098)
    expect(shards()).toBe(8) // the update split the shard
    expect(stall).toBeLessThan(50)
  }, 60_000)
})

describe('review 12: a split in steps', () => {
  const blob = { blob: 'x'.repeat(4_000) }
  type Internals = { store: { layout: { live: Map<number, unknown> }; splitting: unknown } }
  const internals = (doc: MarketplaceDoc) => (doc as unknown as Internals).store
  const yieldOnce = () => new Promise((resolve) => setImmediate(resolve))

  /** Sellers' updates that fill one shard to exactly 2,048 keys of ~4 KB records, and one more key's update. */
  async function full() {
    const chunks: Uint8Array[] = []
    let held = 0
    const sellers: Array<{ doc: MarketplaceDoc; updates: Uint8Array[] }> = []
    for (let s = 0; held < 2_048; s++) {
      const { privateKey, peerId } = await identity(150 + s)
      const doc = new MarketplaceDoc({ peerId, privateKey })
      const updates: Uint8Array[] = []
      doc.addEventListener('update', (e) => updates.push(e.detail.update))
      const n = Math.min(250, 2_048 - held)
      await doc.publishMany(Array.from({ length: n }, (_, i) => listingInput(`s${i}`, { inputSchema: blob })))
      held += n
      chunks.push(...doc.diffChunks())
      sellers.push({ doc, updates })
    }
    return { chunks, sellers }
  }

  it('reads, writes and syncs during a split see one consistent state, and nothing written meanwhile is lost', async () => {
    const { chunks, sellers } = await full()
    const { privateKey, peerId } = await identity(149)
    const node = new MarketplaceDoc({ peerId, privateKey })
    for (const chunk of chunks) node.applyRemote(chunk, BIG)
    expect(node.listings()).toHaveLength(2_048)
    const events = { added: 0, updated: 0, removed: 0 }
    node.addEventListener('listing:added', () => events.added++)
    node.addEventListener('listing:updated', () => events.updated++)
    node.addEventListener('listing:removed', () => events.removed++)

    // The node's own write tips the shard over: the split starts, in the background.
    await node.publishMany([listingInput('own0')])
    expect(internals(node).splitting).toBeUndefined() // not yet: after this turn
    await yieldOnce()
    expect(internals(node).splitting).toBeDefined()
    expect(internals(node).layout.live.size).toBe(1)

    // While it runs: new versions, delistings, new keys (remote and local), each step of the way.
    const expected = new Map(node.listings().map((l) => [`${l.seller}/${l.id}`, l.name]))
    const first = sellers[0] as { doc: MarketplaceDoc; updates: Uint8Array[] }
    let round = 0
    while (internals(node).splitting != null) {
      first.updates.length = 0
      await first.doc.publishMany([listingInput(`s${round}`, { name: `v${round}`, inputSchema: blob })])
      await first.doc.publishMany([listingInput(`new${round}`)])
      await first.doc.delist(`s${100 + round}`)
      for (const u of first.updates.splice(0)) expect(node.applyRemote(u).applied).toBe(1)
      await node.publishMany([listingInput(`own${round + 1}`)])
      expected.set(`${first.doc.peerId}/s${round}`, `v${round}`)
      expected.set(`${first.doc.peerId}/new${round}`, `Agent new${round}`)
      expected.delete(`${first.doc.peerId}/s${100 + round}`)
      expected.set(`${peerId}/own${round + 1}`, `Agent own${round + 1}`)
      expected.set(`${peerId}/own0`, 'Agent own0')
      // Queries mid-split: exactly what was written so far.
      expect(node.listings()).toHaveLength(expected.size)
      expect(node.get(`${first.doc.peerId}/s${round}`)?.name).toBe(`v${round}`)
      expect(node.get(`${first.doc.peerId}/s${100 + round}`)).toBeUndefined()
      round++
      await yieldOnce()
    }
    expect(round).toBeGreaterThan(2) // it did run in several steps
    expect(internals(node).layout.live.size).toBe(8)
    expect(new Map(node.listings().map((l) => [`${l.seller}/${l.id}`, l.name]))).toEqual(expected)
    // One event per change, none when the shards were swapped.
    expect(events).toEqual({ added: 1 + 2 * round, updated: round, removed: round })
    // The state after the split is the state: a fresh replica synced from it holds the same, and so does the seller.
    const replica = new MarketplaceDoc({ peerId: 'replica' })
    await replica.applyRemoteBulk(node.diff(), BIG)
    expect(replica.listings()).toHaveLength(expected.size)
    expect(replica.stateVector()).toEqual(node.stateVector())
    // And writes after the split land in the new shards.
    await node.publishMany([listingInput('after')])
    expect(node.get(`${peerId}/after`)?.name).toBe('Agent after')
  }, 60_000)

  it('a node restarted during a split restores everything, split', async () => {
    const { chunks, sellers } = await full()
    const { privateKey, peerId } = await identity(148)
    const node = new EpochedMarketplace({ peerId, privateKey })
    const epoch = node.epochs()[0] as number
    const datastore = new MemoryDatastore()
    const store = new EpochStore(datastore)
    node.addEventListener('update', (e) => store.record(e.detail.epoch, e.detail.update))
    const doc = node.doc(epoch) as MarketplaceDoc
    for (const chunk of chunks) doc.applyRemote(chunk, BIG)
    await store.save(node, true)
    await node.publishMany([listingInput('own0')]) // tips the shard over
    await yieldOnce()
    expect(internals(doc).splitting).toBeDefined()
    // Mid-split: a logged update, a fold of the parts, and another logged update.
    const first = sellers[0] as { doc: MarketplaceDoc; updates: Uint8Array[] }
    first.updates.length = 0
    await first.doc.publishMany([listingInput('s1', { name: 'v1' })])
    doc.applyRemote(first.updates[0] as Uint8Array)
    await store.save(node)
    await store.save(node, true)
    await node.publishMany([listingInput('own1')])
    await store.save(node)
    expect(internals(doc).splitting).toBeDefined() // still splitting: the process "dies" here

    const restarted = new EpochedMarketplace({ peerId, privateKey })
    await new EpochStore(datastore).restore(restarted)
    const restoredDoc = restarted.doc(epoch) as MarketplaceDoc
    expect(restarted.listings()).toHaveLength(2_050)
    expect(restarted.get(`${first.doc.peerId}/s1`)?.name).toBe('v1')
    expect(restarted.get(`${peerId}/own1`)?.name).toBe('Agent own1')
    await restoredDoc.settled()
    expect(internals(restoredDoc).layout.live.size).toBe(8)
    expect(restoredDoc.stateVector()).toEqual(doc.stateVector())

    // The original finishes its split; what it stores then restores the same, from the eight new parts.
    await doc.settled()
    expect(internals(doc).layout.live.size).toBe(8)
    await store.save(node, true)
    const parts: string[] = []
    for await (const key of datastore.queryKeys({ prefix: '/betar/marketplace/part/' })) parts.push(key.toString())
    expect(parts).toHaveLength(8)
    const again = new EpochedMarketplace({ peerId, privateKey })
    await new EpochStore(datastore).restore(again)
    expect(again.listings()).toHaveLength(2_050)
    expect((again.doc(epoch) as MarketplaceDoc).stateVector()).toEqual(doc.stateVector())
  }, 60_000)
})
