/**
 * @packageDocumentation
 *
 * JSON from untrusted peers, bounded before anything recursive reads it. `JSON.parse` is iterative in V8, but what
 * follows it is not: a recursive zod schema overflows the stack near 1,500 levels and `JSON.stringify` (canonical
 * JSON, re-encoding) near 4,000 — both well inside a 16 KiB message. Every Betar decoder of peer JSON checks the size
 * and the nesting depth first, with one allocation-free pass over the bytes.
 *
 * @example
 * ```ts
 * import { JsonLimitError, parseBoundedJson } from '@betar/bounded-json'
 *
 * try {
 *   const value = parseBoundedJson(bytes, { maxBytes: 16 * 1024, maxDepth: 64 })
 * } catch (err) {
 *   if (err instanceof JsonLimitError) throw new MyProtocolError(err.message, { cause: err })
 *   throw err
 * }
 * ```
 */

export { DEFAULT_MAX_JSON_DEPTH } from './constants.ts'
export { exceedsJsonDepth, exceedsValueDepth } from './depth.ts'
export { JsonLimitError, type JsonLimitReason } from './errors.ts'
export { type BoundedJsonOptions, parseBoundedJson } from './parse.ts'
