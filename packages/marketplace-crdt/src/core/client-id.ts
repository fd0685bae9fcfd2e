import { createHash } from 'node:crypto'

const cache = new Map<string, number>()

function hashId(input: string, bits: 48 | 53): number {
  let id = cache.get(input)
  if (id == null) {
    const digest = createHash('sha256').update(input).digest()
    // 48 bits fit readUIntBE; 53 (the largest exact integer, and the most Yjs client ids allow) take 5 more bits.
    id = bits === 48 ? digest.readUIntBE(0, 6) : digest.readUIntBE(0, 6) * 32 + ((digest[6] as number) >> 3)
    if (cache.size > 200_000) cache.clear()
    cache.set(input, id)
  }
  return id
}

/**
 * A peer's resting Yjs client id: the first 48 bits of sha256(peer id). A marketplace document never writes an entry
 * under it (entries use {@link entryClientId}); it is the id the document's Yjs instances hold between writes.
 */
export function clientIdOf(peerId: string): number {
  return hashId(peerId, 48)
}

/**
 * The Yjs client id every version of one listing key (`<seller>/<id>`) is written with: 53 bits (the most a Yjs client
 * id can have) of sha256 of the key. One client per key means a client's clock is that key's version sequence: slot `n`
 * of the client can only ever hold the key's record signed with `seq: n`, so no other item — another listing of the
 * same seller, a replayed version, a deleted run — can take the slot (docs/marketplace-threat-model.md, "Item
 * identity").
 */
export function entryClientId(key: string): number {
  return hashId(`betar/marketplace/entry/v1\n${key}`, 53)
}
