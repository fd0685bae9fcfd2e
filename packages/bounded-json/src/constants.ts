/**
 * Deepest nesting of arrays and objects accepted by default. Protocol JSON here nests 4–6 levels (an x402 payment:
 * payload → authorization; a listing: price → extra) and JSON Schemas a few dozen; V8 runs out of stack in
 * `JSON.stringify` near 4,000 levels and in a recursive zod schema near 1,500 (issue 13, faults 2 and 3).
 */
export const DEFAULT_MAX_JSON_DEPTH = 64
