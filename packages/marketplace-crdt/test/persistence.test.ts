import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { describe, expect, it, vi } from 'vitest'
import { EpochedMarketplace } from '../src/core/epochs.ts'
import { EpochStore } from '../src/service/persistence.ts'
import { listingInput } from './fixtures/listing.ts'

async function market(): Promise<EpochedMarketplace> {
  const privateKey = await generateKeyPair('Ed25519')
  return new EpochedMarketplace({ peerId: peerIdFromPrivateKey(privateKey).toString(), privateKey })
}

async function keys(datastore: MemoryDatastore, prefix: string): Promise<string[]> {
  const out: string[] = []
  for await (const key of datastore.queryKeys({ prefix })) out.push(key.toString())
  return out.sort()
}

/** A store recording every update of `market`, as the service wires it. */
function storeFor(datastore: MemoryDatastore, market: EpochedMarketplace): EpochStore {
  const store = new EpochStore(datastore)
  market.addEventListener('update', (e) => store.record(e.detail.epoch, e.detail.update))
  return store
}

/** Counts datastore puts from now on. */
function countPuts(datastore: MemoryDatastore): string[] {
  const puts: string[] = []
  const put = datastore.put.bind(datastore)
  datastore.put = async (key, value, options) => {
    puts.push(key.toString())
    return put(key, value, options)
  }
  return puts
}

describe('EpochStore (marketplace persistence: a log folded into parts)', () => {
  it('appends each change to a log; a restart replays it, then folds it into parts', async () => {
    const datastore = new MemoryDatastore()
    const seller = await market()
    const store = storeFor(datastore, seller)
    await seller.publishMany(Array.from({ length: 200 }, (_, i) => listingInput(`a${i}`)))
    await store.save(seller)
    const epoch = seller.epochs()[0] as number
    expect(await keys(datastore, '/betar/marketplace/log')).toHaveLength(1)
    expect(await keys(datastore, '/betar/marketplace/part')).toEqual([])

    // One listing changes: one small record is written, nothing else is re-encoded.
    const puts = countPuts(datastore)
    await seller.publishMany([listingInput('a7', { name: 'renamed' })])
    await store.save(seller)
    expect(puts).toEqual([`/betar/marketplace/log/${epoch}/000000000001`])
    await store.save(seller)
    expect(puts).toHaveLength(1) // nothing changed since

    const restarted = new EpochedMarketplace({ peerId: seller.doc(epoch)!.peerId })
    await new EpochStore(datastore).restore(restarted)
    expect(restarted.listings()).toHaveLength(200)
    expect(restarted.listings().find((l) => l.id === 'a7')?.name).toBe('renamed')
    expect(await keys(datastore, '/betar/marketplace/log')).toEqual([])
    // 200 keys: one shard, one part.
    expect(await keys(datastore, '/betar/marketplace/part')).toEqual([`/betar/marketplace/part/${epoch}/0`])

    const again = new EpochedMarketplace({ peerId: seller.doc(epoch)!.peerId })
    await new EpochStore(datastore).restore(again)
    expect(again.listings()).toHaveLength(200)
  })

  it('folds the log into the changed parts once it outgrows the document', async () => {
    const datastore = new MemoryDatastore()
    const seller = await market()
    const store = storeFor(datastore, seller)
    const epoch = seller.epochs()[0] as number
    let folds = 0
    for (let round = 0; round < 70; round++) {
      await seller.publishMany(Array.from({ length: 20 }, (_, i) => listingInput(`r${i}`, { name: `round ${round}` })))
      const logBefore = (await keys(datastore, '/betar/marketplace/log')).length
      await store.save(seller)
      if ((await keys(datastore, '/betar/marketplace/log')).length < logBefore) folds++
    }
    // 20 listings of ≈ 0.9 KB, rewritten 70 times: the log passes 1 MiB about once.
    expect(folds).toBe(1)
    expect(await keys(datastore, '/betar/marketplace/part')).toEqual([`/betar/marketplace/part/${epoch}/0`])

    const restarted = new EpochedMarketplace({ peerId: seller.doc(epoch)!.peerId })
    await new EpochStore(datastore).restore(restarted)
    expect(restarted.listings()).toHaveLength(20)
    expect(new Set(restarted.listings().map((l) => l.name))).toEqual(new Set(['round 69']))
  })

  it('too much at once (a state sync streaming in) is written as parts, not logged', async () => {
    const datastore = new MemoryDatastore()
    const seller = await market()
    const store = storeFor(datastore, seller)
    await seller.publishMany(Array.from({ length: 40 }, (_, i) => listingInput(`o${i}`)))
    store.record(seller.epochs()[0] as number, new Uint8Array(9 * 1024 * 1024)) // past what is kept for the log
    await store.save(seller)
    expect(await keys(datastore, '/betar/marketplace/log')).toEqual([])
    expect(await keys(datastore, '/betar/marketplace/part')).toHaveLength(1)
    const restarted = new EpochedMarketplace({ peerId: seller.doc(seller.epochs()[0] as number)!.peerId })
    await new EpochStore(datastore).restore(restarted)
    expect(restarted.listings()).toHaveLength(40)
  })

  it('reads a whole-document snapshot of the earlier format, then stores it as parts', async () => {
    const datastore = new MemoryDatastore()
    const seller = await market()
    await seller.publishMany(Array.from({ length: 30 }, (_, i) => listingInput(`b${i}`)))
    const epoch = seller.epochs()[0] as number
    await datastore.put(new Key(`/betar/marketplace/epoch/${epoch}`), seller.doc(epoch)!.snapshot())

    const restarted = new EpochedMarketplace({ peerId: seller.doc(epoch)!.peerId })
    await new EpochStore(datastore).restore(restarted)
    expect(restarted.listings()).toHaveLength(30)
    expect(await keys(datastore, '/betar/marketplace/epoch')).toEqual([])
    expect(await keys(datastore, '/betar/marketplace/part')).toHaveLength(1)

    const again = new EpochedMarketplace({ peerId: seller.doc(epoch)!.peerId })
    await new EpochStore(datastore).restore(again)
    expect(again.listings()).toHaveLength(30)
  })

  it('a store past 2,048 keys is split in 8 parts; an unreadable part is skipped, the others restored', async () => {
    const datastore = new MemoryDatastore()
    const replica = await market()
    const epoch = replica.epochs()[0] as number
    const added: string[] = []
    replica.addEventListener('listing:added', (e) => added.push(e.detail.id))
    // Three sellers of 700 listings each (a seller's quota is 1,000): 2,100 keys.
    for (let s = 0; s < 3; s++) {
      const seller = await market()
      const updates: Uint8Array[] = []
      seller.addEventListener('update', (e) => updates.push(e.detail.update))
      await seller.publishMany(Array.from({ length: 700 }, (_, i) => listingInput(`s${s}-${i}`)))
      for (const update of updates) {
        await replica.doc(epoch)!.applyRemoteBulk(update, { maxUpdateSize: 1 << 24, maxStructs: 1 << 20 })
      }
    }
    expect(replica.listings()).toHaveLength(2_100)
    expect(added).toHaveLength(2_100) // moving entries between shards reports nothing
    await new EpochStore(datastore).save(replica, true)
    const parts = await keys(datastore, '/betar/marketplace/part')
    expect(parts).toHaveLength(8)
    await datastore.put(new Key(parts[0] as string), Uint8Array.from([0xff, 0xff, 0xff]))

    const restarted = new EpochedMarketplace({ peerId: replica.doc(epoch)!.peerId })
    await new EpochStore(datastore).restore(restarted)
    const held = restarted.listings().length
    expect(held).toBeGreaterThan(2_100 * 0.8)
    expect(held).toBeLessThan(2_100)
  })

  it('dropping an epoch deletes its parts and its log', async () => {
    const datastore = new MemoryDatastore()
    const seller = await market()
    const store = storeFor(datastore, seller)
    await seller.publishMany([listingInput('d0'), listingInput('d1')])
    await store.save(seller, true)
    await seller.publishMany([listingInput('d2')])
    await store.save(seller)
    const epoch = seller.epochs()[0] as number
    expect((await keys(datastore, '/betar/marketplace/part')).length).toBeGreaterThan(0)
    expect(await keys(datastore, '/betar/marketplace/log')).toHaveLength(1)
    await store.drop(epoch)
    expect(await keys(datastore, '/betar/marketplace/part')).toEqual([])
    expect(await keys(datastore, '/betar/marketplace/log')).toEqual([])
  })
  it('a restored seller keeps writing under its own Yjs clients: no "[yjs] Changed the client-id", peers accept it', async () => {
    const warn = vi.spyOn(console, 'warn')
    const error = vi.spyOn(console, 'error')
    try {
      const datastore = new MemoryDatastore()
      const privateKey = await generateKeyPair('Ed25519')
      const peerId = peerIdFromPrivateKey(privateKey).toString()
      const seller = new EpochedMarketplace({ peerId, privateKey })
      const store = storeFor(datastore, seller)
      await seller.publishMany(Array.from({ length: 50 }, (_, i) => listingInput(`k${i}`)))
      await store.save(seller)
      const epoch = seller.epochs()[0] as number

      const restarted = new EpochedMarketplace({ peerId, privateKey })
      const peer = await market()
      const updates: Uint8Array[] = []
      restarted.addEventListener('update', (e) => updates.push(e.detail.update))
      await new EpochStore(datastore).restore(restarted)
      await restarted.publishMany([listingInput('k3', { name: 'after restart' }), listingInput('new')])
      // A peer that holds the seller's earlier state accepts what the restarted seller writes.
      await peer.doc(epoch)!.applyRemoteBulk(seller.doc(epoch)!.diff(), { maxUpdateSize: 1 << 24, maxStructs: 1 << 20 })
      for (const update of updates) peer.doc(epoch)!.applyRemote(update)
      expect(peer.listings().find((l) => l.id === 'k3')?.name).toBe('after restart')
      expect(peer.listings()).toHaveLength(51)
      const said = [...warn.mock.calls, ...error.mock.calls].flat().map(String)
      expect(said.filter((s) => s.includes('client-id') || s.includes('clientID'))).toEqual([])
    } finally {
      warn.mockRestore()
      error.mockRestore()
    }
  })
})
