import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_MAX_JSON_DEPTH,
  exceedsJsonDepth,
  exceedsValueDepth,
  JsonLimitError,
  parseBoundedJson
} from '../src/index.ts'

const utf8 = new TextEncoder()

/** Reference: the nesting depth of a parsed value, recursively (fine for the small values generated here). */
function depthOf(value: unknown): number {
  if (value == null || typeof value !== 'object') return 0
  const children = Array.isArray(value) ? value : Object.values(value)
  return 1 + Math.max(0, ...children.map(depthOf))
}

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn()
    return undefined
  } catch (err) {
    expect(err).toBeInstanceOf(JsonLimitError)
    return (err as JsonLimitError).reason
  }
}

describe('exceedsJsonDepth', () => {
  it('agrees with the depth of the parsed value, for bytes and strings, on both sides of the bound', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 9 }), (value, max) => {
        const text = JSON.stringify(value)
        const deeper = depthOf(value) > max
        expect(exceedsJsonDepth(text, max)).toBe(deeper)
        expect(exceedsJsonDepth(utf8.encode(text), max)).toBe(deeper)
      }),
      { seed: 13, numRuns: 500 }
    )
  })

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(exceedsJsonDepth('{"a":"[[[[{{{{\\"[[[["}', 1)).toBe(false)
    expect(exceedsJsonDepth('["\\\\",[[]]]', 2)).toBe(true)
    expect(exceedsJsonDepth('["\\\\",[[]]]', 3)).toBe(false)
  })

  it('counts what is opened, valid JSON or not', () => {
    expect(exceedsJsonDepth('[[[', 2)).toBe(true)
    expect(exceedsJsonDepth(']]][[', 2)).toBe(false)
  })

  it('settles texts with few brackets by counting them, and scans the rest (siblings, brackets in strings)', () => {
    for (const input of [(t: string) => t, (t: string) => utf8.encode(t)]) {
      expect(exceedsJsonDepth(input(`${'['.repeat(32)}${']'.repeat(32)}`), 32)).toBe(false) // 32 openings: counted
      expect(exceedsJsonDepth(input(`${'['.repeat(33)}${']'.repeat(33)}`), 32)).toBe(true) // 33 nested: scanned
      expect(exceedsJsonDepth(input(`[${'{},'.repeat(40)}{}]`), 32)).toBe(false) // 42 openings, depth 2: scanned
      expect(exceedsJsonDepth(input(`["${'{'.repeat(40)}"]`), 32)).toBe(false) // inside a string
      expect(exceedsJsonDepth(input(`[{"a":[${'{"b":['.repeat(15)}1${']}'.repeat(15)}]}]`), 32)).toBe(true)
    }
  })
})

describe('exceedsValueDepth', () => {
  it('agrees with the recursive depth', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 9 }), (value, max) => {
        expect(exceedsValueDepth(value, max)).toBe(depthOf(value) > max)
      }),
      { seed: 13, numRuns: 500 }
    )
  })

  it('stops at the bound on a cyclic value and on one 100,000 levels deep', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(exceedsValueDepth(cyclic, 64)).toBe(true)
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`)
    expect(exceedsValueDepth(deep, 64)).toBe(true)
  })
})

describe('parseBoundedJson', () => {
  it('parses what is within bounds', () => {
    expect(parseBoundedJson(utf8.encode('{"a":[1,{"b":null}]}'), { maxDepth: 3 })).toEqual({ a: [1, { b: null }] })
    expect(parseBoundedJson('"x"', { maxBytes: 3 })).toBe('x')
  })

  it('refuses each bound with its reason', () => {
    expect(reasonOf(() => parseBoundedJson(utf8.encode('[1,2]'), { maxBytes: 4 }))).toBe('size')
    const deep = `${'['.repeat(DEFAULT_MAX_JSON_DEPTH + 1)}${']'.repeat(DEFAULT_MAX_JSON_DEPTH + 1)}`
    expect(reasonOf(() => parseBoundedJson(deep))).toBe('depth')
    expect(reasonOf(() => parseBoundedJson(deep.slice(1, -1)))).toBeUndefined()
    expect(reasonOf(() => parseBoundedJson(Uint8Array.from([0x22, 0xff, 0x22])))).toBe('encoding')
    expect(reasonOf(() => parseBoundedJson('{'))).toBe('syntax')
  })

  it('reads invalid UTF-8 as U+FFFD and keeps a byte order mark in lenient mode, as Go does', () => {
    expect(parseBoundedJson(Uint8Array.from([0x22, 0xff, 0x22]), { utf8: 'lenient' })).toBe('\ufffd')
    const bom = Uint8Array.from([0xef, 0xbb, 0xbf, 0x31])
    expect(parseBoundedJson(bom)).toBe(1)
    expect(reasonOf(() => parseBoundedJson(bom, { utf8: 'lenient' }))).toBe('syntax')
  })

  it('refuses a 1,500-deep value in 16 KiB quickly and without stack overflow', () => {
    const deep = utf8.encode(`{"extra":${'{"a":'.repeat(1_500)}1${'}'.repeat(1_500)}}`)
    const start = performance.now()
    for (let i = 0; i < 1_000; i++) expect(reasonOf(() => parseBoundedJson(deep))).toBe('depth')
    expect(performance.now() - start).toBeLessThan(1_000)
  })
})

describe('__proto__ members', () => {
  it('are refused with reason "key", spelled out or escaped, at any depth', () => {
    for (const text of [
      '{"__proto__":{"polluted":1}}',
      '{"a":[{"b":{"__proto__":null}}]}',
      '{"\\u005f_proto__":1}',
      '{"__pro\\u0074o__":{}}'
    ]) {
      expect(() => parseBoundedJson(text), text).toThrow(
        expect.objectContaining({ name: 'JsonLimitError', reason: 'key' })
      )
    }
  })

  it('as a value, or escapes elsewhere, are plain JSON', () => {
    expect(parseBoundedJson('{"name":"__proto__","s":"\\u00e9"}')).toEqual({ name: '__proto__', s: 'é' })
    expect(parseBoundedJson('["__proto__"]')).toEqual(['__proto__'])
  })
})
