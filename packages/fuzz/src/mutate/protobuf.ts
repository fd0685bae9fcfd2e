import { INTERESTING_UINTS } from '../interesting.ts'
import type { Prng } from '../prng.ts'
import { encodeVarint, readVarint } from './varint.ts'

/** One protobuf field as it is on the wire; a length-delimited field that parses as a message keeps its fields. */
interface Field {
  number: bigint
  wireType: number
  /** Varint value (wire type 0). */
  value?: bigint
  /** Raw payload (wire types 1, 2 and 5). */
  bytes?: Uint8Array
  /** Nested fields, when `bytes` parse as a message. */
  fields?: Field[]
}

const MAX_NESTING = 8

/** Parses a protobuf message without its schema; undefined when the bytes are not one. */
export function parseMessage(bytes: Uint8Array, nesting = 0): Field[] | undefined {
  const fields: Field[] = []
  let at = 0
  while (at < bytes.byteLength) {
    const tag = readVarint(bytes, at)
    if (tag == null || tag.value >> 3n === 0n) return undefined
    at += tag.length
    const field: Field = { number: tag.value >> 3n, wireType: Number(tag.value & 7n) }
    if (field.wireType === 0) {
      const v = readVarint(bytes, at)
      if (v == null) return undefined
      field.value = v.value
      at += v.length
    } else if (field.wireType === 1 || field.wireType === 5) {
      const n = field.wireType === 1 ? 8 : 4
      if (at + n > bytes.byteLength) return undefined
      field.bytes = bytes.subarray(at, at + n)
      at += n
    } else if (field.wireType === 2) {
      const len = readVarint(bytes, at)
      if (len == null) return undefined
      at += len.length
      const end = at + Number(len.value)
      if (len.value > BigInt(bytes.byteLength) || end > bytes.byteLength) return undefined
      field.bytes = bytes.subarray(at, end)
      if (nesting < MAX_NESTING && field.bytes.byteLength > 0) {
        const nested = parseMessage(field.bytes, nesting + 1)
        if (nested != null) field.fields = nested
      }
      at = end
    } else {
      return undefined
    }
    fields.push(field)
  }
  return fields
}

/** Encodes fields back to bytes (nested fields win over `bytes`). */
export function encodeMessage(fields: readonly Field[]): Uint8Array {
  const parts: Uint8Array[] = []
  for (const f of fields) {
    parts.push(encodeVarint((f.number << 3n) | BigInt(f.wireType)))
    if (f.wireType === 0) {
      parts.push(encodeVarint(f.value ?? 0n))
    } else if (f.wireType === 2) {
      const payload = f.fields != null ? encodeMessage(f.fields) : (f.bytes ?? new Uint8Array(0))
      parts.push(encodeVarint(BigInt(payload.byteLength)), payload)
    } else {
      parts.push(f.bytes ?? new Uint8Array(f.wireType === 1 ? 8 : 4))
    }
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

/** Every field list of the tree (the message's own and each nested one). */
function lists(fields: Field[], out: Field[][] = []): Field[][] {
  out.push(fields)
  for (const f of fields) if (f.fields != null) lists(f.fields, out)
  return out
}

/** Edits the payload of a length-delimited field (bytes, a string, a JSON document). */
export type PayloadMutator = (r: Prng, payload: Uint8Array) => Uint8Array

/**
 * Parses `input` as a protobuf message (schema-less), edits one field somewhere in the tree — a varint set to an
 * interesting value, a field dropped, repeated, renumbered or given another wire type, a payload edited with
 * `payload` — and encodes it again with correct lengths. Returns the input unchanged when it is not protobuf.
 */
export function mutateProtobuf(r: Prng, input: Uint8Array, payload: PayloadMutator): Uint8Array {
  const root = parseMessage(input)
  if (root == null || root.length === 0) return input
  const list = r.pick(lists(root))
  if (list.length === 0) return input
  const i = r.below(list.length)
  const field = list[i] as Field
  switch (r.below(6)) {
    case 0:
      if (field.wireType === 0) field.value = r.pick(INTERESTING_UINTS)
      else if (field.bytes != null) {
        delete field.fields
        field.bytes = payload(r, field.bytes)
      }
      break
    case 1:
      list.splice(i, 1)
      break
    case 2:
      list.splice(i, 0, { ...field })
      break
    case 3:
      field.number = r.chance(0.5) ? BigInt(r.int(1, 16)) : r.pick(INTERESTING_UINTS) & ((1n << 29n) - 1n) || 1n
      break
    case 4:
      field.wireType = r.pick([0, 1, 2, 5])
      if (field.wireType === 0) field.value ??= 1n
      else if (field.bytes == null)
        field.bytes = new Uint8Array(field.wireType === 1 ? 8 : field.wireType === 5 ? 4 : 0)
      break
    default:
      if (field.bytes != null && field.wireType === 2) {
        delete field.fields
        field.bytes = payload(r, field.bytes)
      } else {
        list.push({ number: BigInt(r.int(1, 8)), wireType: 2, bytes: r.bytes(r.size(64)) })
      }
  }
  return encodeMessage(root)
}
