import { INTERESTING_UINTS } from '../interesting.ts'
import type { Prng } from '../prng.ts'

/** Reads an unsigned LEB128 varint (protobuf, lib0/Yjs) at `at`: value and length, or undefined past 10 bytes. */
export function readVarint(bytes: Uint8Array, at: number): { value: bigint; length: number } | undefined {
  let value = 0n
  for (let i = 0; i < 10 && at + i < bytes.byteLength; i++) {
    const b = bytes[at + i] as number
    value |= BigInt(b & 0x7f) << BigInt(7 * i)
    if ((b & 0x80) === 0) return { value, length: i + 1 }
  }
  return undefined
}

/** The unsigned LEB128 encoding of `value`. */
export function encodeVarint(value: bigint): Uint8Array {
  const out: number[] = []
  let v = value
  do {
    const low = Number(v & 0x7fn)
    v >>= 7n
    out.push(v > 0n ? low | 0x80 : low)
  } while (v > 0n)
  return Uint8Array.from(out)
}

/**
 * Replaces the varint that starts at a random position with an interesting value or a near neighbour of its own (a
 * length prefix, a count, a clock, a field value): the edit keeps the rest of the encoding aligned, which a byte flip
 * rarely does.
 */
export function mutateVarint(r: Prng, input: Uint8Array): Uint8Array {
  if (input.byteLength === 0) return input
  const at = r.below(input.byteLength)
  const found = readVarint(input, at)
  if (found == null) return input
  const near = found.value + BigInt(r.int(-3, 3))
  const value = r.chance(0.5) ? r.pick(INTERESTING_UINTS) : near < 0n ? 0n : near
  const encoded = r.chance(0.1) ? overlong(r, value) : encodeVarint(value)
  const out = new Uint8Array(input.byteLength - found.length + encoded.byteLength)
  out.set(input.subarray(0, at))
  out.set(encoded, at)
  out.set(input.subarray(at + found.length), at + encoded.byteLength)
  return out
}

/**
 * `value` in more bytes than it needs (empty continuation groups), which a strict reader refuses and a lenient one may
 * misread: lib0 reads 0x80 × 147 then 0x00 as NaN (`0 × 128^147`), which passed every `n > max` bound of a decoder.
 */
function overlong(r: Prng, value: bigint): Uint8Array {
  const minimal = encodeVarint(value)
  const extra = r.pick([1, 5, 10, 147, 160])
  const out = new Uint8Array(minimal.byteLength + extra)
  out.set(minimal)
  out[minimal.byteLength - 1] = (out[minimal.byteLength - 1] as number) | 0x80
  out.fill(0x80, minimal.byteLength, out.byteLength - 1)
  return out
}
