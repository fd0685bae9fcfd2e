import { JsonLimitError, parseBoundedJson } from '@betar/bounded-json'
import { MAX_X402_JSON_DEPTH } from './constants.ts'
import { ProtocolViolationError } from './errors.ts'

const encoder = new TextEncoder()

/**
 * Parses UTF-8 JSON from the network, bounded in size (`max` bytes) and nesting ({@link MAX_X402_JSON_DEPTH}) before
 * anything recursive — zod schemas, canonical JSON, re-encoding — sees it. Throws {@link ProtocolViolationError} on
 * any defect.
 */
export function parseJsonBytes(bytes: Uint8Array, max: number, what: string): unknown {
  try {
    return parseBoundedJson(bytes, { maxBytes: max, maxDepth: MAX_X402_JSON_DEPTH })
  } catch (err) {
    if (!(err instanceof JsonLimitError)) throw err
    const reason =
      err.reason === 'size'
        ? `is over ${max} bytes`
        : err.reason === 'depth'
          ? `nests more than ${MAX_X402_JSON_DEPTH} levels deep`
          : 'is not valid UTF-8 JSON'
    throw new ProtocolViolationError(`${what} ${reason}`, { cause: err })
  }
}

/** UTF-8 JSON bytes of `value`. */
export function jsonBytes(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}
