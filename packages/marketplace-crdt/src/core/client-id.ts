import { createHash, hash } from 'node:crypto'

const cache = new Map<string, number>()

/**
 * A peer's resting Yjs client id: the first 48 bits of sha256(peer id). A marketplace document never writes an entry
 * under it (entries use {@link entryClientId}); it is the id the document's Yjs instances hold between writes.
 */
export function clientIdOf(peerId: string): number {
  let id = cache.get(peerId)
  if (id == null) {
    id = createHash('sha256').update(peerId).digest().readUIntBE(0, 6)
    if (cache.size > 100_000) cache.clear()
    cache.set(peerId, id)
  }
  return id
}

/**
 * The Yjs client id every version of one listing key (`<seller>/<id>`) is written with: 53 bits (the most a Yjs client
 * id can have) of sha256 of the key. One client per key means a client's clock is that key's version sequence: slot `n`
 * of the client can only ever hold the key's record signed with `seq: n`, so no other item — another listing of the
 * same seller, a replayed version, a deleted run — can take the slot (docs/marketplace-threat-model.md, "Item
 * identity").
 */
export function entryClientId(key: string): number {
  // Not cached: one hash (≈ 1 µs; the one-shot `hash` costs half of `createHash`) per key and update costs less than a
  // cache entry per listing held.
  const digest = hash('sha256', `betar/marketplace/entry/v1\n${key}`, 'buffer')
  // 48 bits fit readUIntBE; the 5 more bits of a 53-bit integer come from the next byte.
  return digest.readUIntBE(0, 6) * 32 + ((digest[6] as number) >> 3)
}
