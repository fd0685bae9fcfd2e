import { INTERESTING_UINTS } from '../interesting.ts'
import type { Prng } from '../prng.ts'

/** One byte-level edit: AFL's havoc stages, without coverage feedback. */
type ByteMutator = (r: Prng, input: Uint8Array, other: Uint8Array) => Uint8Array

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

function writeInt(r: Prng, input: Uint8Array, width: 1 | 2 | 4 | 8): Uint8Array {
  if (input.byteLength < width) return input
  const out = input.slice()
  const at = r.below(input.byteLength - width + 1)
  const value = r.pick(INTERESTING_UINTS) & ((1n << BigInt(8 * width)) - 1n)
  const bigEndian = r.chance(0.5)
  for (let i = 0; i < width; i++) {
    const byte = Number((value >> BigInt(8 * i)) & 0xffn)
    out[bigEndian ? at + width - 1 - i : at + i] = byte
  }
  return out
}

const MUTATORS: readonly ByteMutator[] = [
  // flip one bit
  (r, input) => {
    if (input.byteLength === 0) return input
    const out = input.slice()
    const at = r.below(out.byteLength)
    out[at] = (out[at] as number) ^ (1 << r.below(8))
    return out
  },
  // set a random byte
  (r, input) => {
    if (input.byteLength === 0) return input
    const out = input.slice()
    out[r.below(out.byteLength)] = r.u32() & 0xff
    return out
  },
  // add or subtract a little
  (r, input) => {
    if (input.byteLength === 0) return input
    const out = input.slice()
    const at = r.below(out.byteLength)
    out[at] = ((out[at] as number) + r.int(-35, 35)) & 0xff
    return out
  },
  // an interesting integer, 1 to 8 bytes, either byte order
  (r, input) => writeInt(r, input, r.pick([1, 2, 4, 8] as const)),
  // delete a range
  (r, input) => {
    if (input.byteLength === 0) return input
    const at = r.below(input.byteLength)
    const n = 1 + r.size(input.byteLength - at - 1)
    return concat(input.subarray(0, at), input.subarray(at + n))
  },
  // insert random bytes
  (r, input) => {
    const at = r.below(input.byteLength + 1)
    return concat(input.subarray(0, at), r.bytes(1 + r.size(64)), input.subarray(at))
  },
  // duplicate a range in place (repeats fields, lengthens runs)
  (r, input) => {
    if (input.byteLength === 0) return input
    const at = r.below(input.byteLength)
    const n = 1 + r.size(input.byteLength - at - 1)
    const chunk = input.subarray(at, at + n)
    const copies = r.chance(0.1) ? r.int(2, 64) : 1
    return concat(input.subarray(0, at + n), ...new Array<Uint8Array>(copies).fill(chunk), input.subarray(at + n))
  },
  // overwrite a range with a copy of another range
  (r, input) => {
    if (input.byteLength < 2) return input
    const from = r.below(input.byteLength)
    const to = r.below(input.byteLength)
    const n = 1 + r.size(Math.min(input.byteLength - from, input.byteLength - to) - 1)
    const out = input.slice()
    out.set(input.subarray(from, from + n), to)
    return out
  },
  // truncate
  (r, input) => input.subarray(0, r.below(input.byteLength + 1)),
  // splice with another corpus entry
  (r, input, other) => {
    const a = r.below(input.byteLength + 1)
    const b = r.below(other.byteLength + 1)
    return concat(input.subarray(0, a), other.subarray(b))
  },
  // insert a chunk of another corpus entry
  (r, input, other) => {
    const at = r.below(input.byteLength + 1)
    const from = r.below(other.byteLength + 1)
    const n = r.size(other.byteLength - from)
    return concat(input.subarray(0, at), other.subarray(from, from + n), input.subarray(at))
  },
  // fill a range with one byte
  (r, input) => {
    if (input.byteLength === 0) return input
    const at = r.below(input.byteLength)
    const n = 1 + r.size(input.byteLength - at - 1)
    const out = input.slice()
    out.fill(r.pick([0x00, 0xff, 0x7f, 0x80, 0x22, 0x5b, 0x7b, r.u32() & 0xff]), at, at + n)
    return out
  }
]

/** Applies one random byte-level edit (`other`: another corpus entry, for splicing). */
export function mutateBytes(r: Prng, input: Uint8Array, other: Uint8Array): Uint8Array {
  return r.pick(MUTATORS)(r, input, other)
}
