import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

/**
 * Cuts an encoded state vector (`varuint(#entries) (varuint(client) varuint(clock))*`) into encoded state vectors of
 * at most about `maxBytes` each: a state vector grows with the number of clients (one per listing key), so it travels
 * in parts like the state itself.
 */
export function* splitVector(vector: Uint8Array, maxBytes: number): Generator<Uint8Array> {
  const d = decoding.createDecoder(vector)
  let left = decoding.readVarUint(d)
  while (left > 0) {
    const start = d.pos
    let n = 0
    while (left > 0 && d.pos - start < maxBytes) {
      decoding.readVarUint(d)
      decoding.readVarUint(d)
      left--
      n++
    }
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, n)
    encoding.writeUint8Array(e, vector.subarray(start, d.pos))
    yield encoding.toUint8Array(e)
  }
}
