/**
 * The worst event-loop stall while a replica receives 1 MiB hostile updates (issue 12, case 3; target < 50 ms): the
 * longest gap between two turns of the event loop while `applyRemoteBulk` runs, over every shape — decode bombs
 * (65,000 subdocuments, 85,000 tiny structs, 400,000 GC structs, 200,000 delete ranges), parent spam, 1 MiB of
 * well-formed entries with forged signatures, and 1 MiB of valid entries (which must be applied) — each under gossip
 * limits (1 MiB, 20,000 structs, all or nothing) and sync limits (a struct per 10 bytes, partial).
 */
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MarketplaceDoc } from '../src/index.ts'
import { listingInput } from '../test/fixtures/listing.ts'
import { deleteSetBomb, gcBomb, listingFlood, rootTypeSpam, subdocBomb, tinyStructBomb } from '../test/helpers/bombs.ts'
import { watchEventLoop } from '../test/helpers/stall.ts'

/** A replica holding `sellers × perSeller` listings. */
async function replica(sellers: number, perSeller: number): Promise<MarketplaceDoc> {
  const node = new MarketplaceDoc({ peerId: 'bench-hostile' })
  for (let s = 0; s < sellers; s++) {
    const key = await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(200 + (s % 50)).fill(s, 0, 1))
    const seller = new MarketplaceDoc({ peerId: peerIdFromPrivateKey(key).toString(), privateKey: key })
    await seller.publishMany(Array.from({ length: perSeller }, (_, i) => listingInput(`h${s}-${i}`)))
    await node.applyRemoteBulk(seller.diff(), { maxUpdateSize: 1 << 26, maxStructs: 1 << 20 })
  }
  return node
}

export interface HostileStall {
  /** Worst stall over every shape and mode, ms. */
  worstMs: number
  /** Worst stall per shape, ms. */
  byShape: Record<string, number>
  /** Listings the replica held (and still holds, plus the valid flood). */
  listings: number
}

export async function hostileUpdateStall(rounds = 3): Promise<HostileStall> {
  const node = await replica(50, 100)
  const listings = node.listings().length
  const shapes: Record<string, () => Promise<Uint8Array>> = {
    subdocuments: async () => subdocBomb(),
    tinyStructs: async () => tinyStructBomb(),
    gcStructs: async () => gcBomb(),
    deleteRanges: async () => deleteSetBomb(),
    parentSpam: async () =>
      rootTypeSpam(
        1_234,
        Array.from({ length: 50_000 }, (_, i) => `l${i}`)
      ),
    forgedFlood: () => listingFlood(1_000_000, Date.now(), true),
    validFlood: () => listingFlood(1_000_000, Date.now(), false, 4)
  }
  const byShape: Record<string, number> = {}
  for (const [name, make] of Object.entries(shapes)) {
    for (let round = 0; round < rounds; round++) {
      const update = await make()
      if (update.byteLength > 1024 * 1024) throw new Error(`${name}: ${update.byteLength} bytes`)
      for (const options of [{}, { maxUpdateSize: 2 * 1024 * 1024, maxStructs: 1_000_000, partial: true }]) {
        await new Promise((resolve) => setTimeout(resolve, 20))
        const loop = watchEventLoop()
        await node.applyRemoteBulk(update, options).catch(() => undefined)
        const stall = loop.stop()
        byShape[name] = Math.max(byShape[name] ?? 0, stall)
      }
    }
  }
  if (node.listings().length < listings) throw new Error('listings lost under attack')
  return { worstMs: Math.max(...Object.values(byShape)), byShape, listings }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await hostileUpdateStall()
  console.log(`worst event-loop stall receiving 1 MiB hostile updates: ${result.worstMs} ms`, result.byShape)
  process.exit(0)
}
