import { ProtocolViolationError } from './errors.ts'

const decoder = new TextDecoder('utf-8', { fatal: true })
const encoder = new TextEncoder()

/** Parses size-bounded UTF-8 JSON from the network; throws {@link ProtocolViolationError} on any defect. */
export function parseJsonBytes(bytes: Uint8Array, max: number, what: string): unknown {
  if (bytes.byteLength > max) throw new ProtocolViolationError(`${what} is over ${max} bytes`)
  try {
    return JSON.parse(decoder.decode(bytes))
  } catch (err) {
    throw new ProtocolViolationError(`${what} is not valid UTF-8 JSON`, { cause: err })
  }
}

/** UTF-8 JSON bytes of `value`. */
export function jsonBytes(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}
