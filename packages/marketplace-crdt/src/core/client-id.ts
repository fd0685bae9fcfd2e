import { createHash } from 'node:crypto'

const cache = new Map<string, number>()

/**
 * The Yjs client id a peer writes with: the first 48 bits of sha256(peer id). Binding client ids to peer ids lets a
 * validator check that every item under `<peer>/…` was written by that peer's client. 48 bits (Yjs allows 53) keep
 * accidental collisions negligible (≈ 1 in 5·10⁶ among 10,000 sellers).
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
