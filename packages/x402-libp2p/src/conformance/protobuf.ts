/**
 * A few protobuf bytes built by hand, for frames the generated codec refuses to produce (unknown enum values,
 * payloads that do not match their type) and for bare length prefixes.
 */

const utf8 = new TextEncoder()

/** Unsigned LEB128 varint (the length prefix of a frame, and protobuf varints). */
export function varint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError('varint needs a non-negative safe integer')
  const out: number[] = []
  let v = value
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80)
    v = Math.floor(v / 0x80)
  }
  out.push(v)
  return Uint8Array.from(out)
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.byteLength
  }
  return out
}

/** A protobuf field: varint (wire type 0) for numbers, length-delimited (wire type 2) for bytes and strings. */
export function field(number: number, value: number | string | Uint8Array): Uint8Array {
  if (typeof value === 'number') return concat([varint(number * 8), varint(value)])
  const bytes = typeof value === 'string' ? utf8.encode(value) : value
  return concat([varint(number * 8 + 2), varint(bytes.byteLength), bytes])
}

/** Field numbers of `x402.proto`. */
export const Fields = {
  message: { type: 1, correlationId: 2, request: 3, paymentRequired: 4, response: 5, error: 6 },
  request: { resource: 1, body: 2, contentType: 3, payment: 4 },
  response: { body: 1, final: 2, settlement: 3, contentType: 4 }
} as const

/** A `Message` with any numeric `type` and one raw payload field (given by its field number). */
export function rawMessage(
  type: number,
  correlationId: string,
  payload: { field: number; bytes: Uint8Array }
): Uint8Array {
  return concat([
    field(Fields.message.type, type),
    field(Fields.message.correlationId, correlationId),
    field(payload.field, payload.bytes)
  ])
}

/** A `Request` sub-message naming `resource`. */
export function rawRequest(resource: string, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  return concat([field(Fields.request.resource, resource), field(Fields.request.body, body)])
}

/** A final `Response` sub-message. */
export function rawFinalResponse(body: Uint8Array): Uint8Array {
  return concat([field(Fields.response.body, body), field(Fields.response.final, 1)])
}

/** Bytes that are not a protobuf message: an invalid wire type (7) followed by junk. */
export const GARBAGE = Uint8Array.from([0x0f, 0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0xff])
