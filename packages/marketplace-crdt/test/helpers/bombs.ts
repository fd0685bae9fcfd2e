import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { entryClientId } from '../../src/core/client-id.ts'
import { signRecord } from '../../src/core/envelope.ts'
import type { ListingRecord } from '../../src/core/listing.ts'
import { listingInput } from '../fixtures/listing.ts'
import { encodeRawUpdate, firstEntry, type RawGroup, type RawStruct } from './yjs-raw.ts'

/*
 * Hostile Yjs updates of about 1 MiB (the gossip limit), written with the raw encoder: the shapes that stalled a node
 * before updates were scanned first (issue 12, case 3; issue 13, items 1 and 4).
 */

/** One chain of `count` items under `client`: the first names a key of the listings map, the others extend it. */
function chain(client: number, count: number, make: (i: number) => RawStruct): RawGroup {
  return { client, clock: 0, structs: Array.from({ length: count }, (_, i) => make(i)) }
}

/** 65,000 subdocument items (each a Y.Doc when Yjs decodes them) in ≈ 0.6 MB. */
export function subdocBomb(count = 65_000): Uint8Array {
  return encodeRawUpdate([
    chain(7, count, (i) =>
      i === 0
        ? { kind: 'item', key: 'a/b', content: { type: 'doc', guid: '' } }
        : { kind: 'item', origin: [7, i - 1], content: { type: 'doc', guid: '' } }
    )
  ])
}

/** 85,000 one-clock deleted items in ≈ 0.5 MB. */
export function tinyStructBomb(count = 85_000): Uint8Array {
  return encodeRawUpdate([
    chain(7, count, (i) =>
      i === 0
        ? { kind: 'item', key: 'a/b', content: { type: 'deleted', length: 1 } }
        : { kind: 'item', origin: [7, i - 1], content: { type: 'deleted', length: 1 } }
    )
  ])
}

/** 400,000 GC structs in ≈ 0.8 MB. */
export function gcBomb(count = 400_000): Uint8Array {
  return encodeRawUpdate([
    { client: 7, clock: 0, structs: Array.from({ length: count }, () => ({ kind: 'gc', length: 1 }) as const) }
  ])
}

/** A delete set of 200,000 ranges in ≈ 0.8 MB, and no structs. */
export function deleteSetBomb(count = 200_000): Uint8Array {
  return encodeRawUpdate(
    [],
    [{ client: 7, ranges: Array.from({ length: count }, (_, i) => [i * 2, 1] as [number, number]) }]
  )
}

/** Items claiming parents other than the listings map (a root type per name would be created by Yjs). */
export function rootTypeSpam(client: number, names: readonly string[]): Uint8Array {
  return encodeRawUpdate([
    {
      client,
      clock: 0,
      structs: names.map((name, i) =>
        i === 0
          ? { kind: 'item', parent: name, key: 'x/y', content: { type: 'deleted', length: 1 } }
          : { kind: 'item', parent: name, key: `x/${i}`, content: { type: 'deleted', length: 1 } }
      )
    }
  ])
}

/** Sellers with reproducible keys, for floods of well-formed entries. */
export async function sellers(count: number, seed = 100) {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const key = await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill((seed + i) % 256))
      return { key, id: peerIdFromPrivateKey(key).toString() }
    })
  )
}

/**
 * ≈ `bytes` of well-formed listings by `count` sellers, each in the first slot of its key's chain: with valid signatures,
 * or — `forged` — with a signature of another payload (only the signature check can tell).
 */
export async function listingFlood(bytes: number, now: number, forged: boolean, sellerCount = 4): Promise<Uint8Array> {
  const owners = await sellers(sellerCount)
  const groups: RawGroup[] = []
  let size = 0
  for (let i = 0; size < bytes; i++) {
    const owner = owners[i % owners.length] as (typeof owners)[number]
    const { ttlMs: _, ...fields } = listingInput(`flood-${i}`)
    const record: ListingRecord = {
      ...fields,
      v: 1,
      kind: 'listing',
      seller: owner.id,
      seq: 0,
      createdAt: now,
      updatedAt: now,
      expiresAt: now + 10 * 60_000
    }
    let signed = (await signRecord(record, owner.key)).bytes
    if (forged) {
      // Keep the envelope well formed, with a signature made for a different payload.
      const other = (await signRecord({ ...record, name: 'other' }, owner.key)).bytes
      const envelope = JSON.parse(new TextDecoder().decode(signed)) as { p: string; s: string }
      envelope.s = (JSON.parse(new TextDecoder().decode(other)) as { s: string }).s
      signed = new TextEncoder().encode(JSON.stringify(envelope))
    }
    const key = `${owner.id}/flood-${i}`
    groups.push({ client: entryClientId(key), clock: 0, structs: [firstEntry(key, signed)] })
    size += signed.byteLength + key.length + 24
  }
  return encodeRawUpdate(groups)
}
