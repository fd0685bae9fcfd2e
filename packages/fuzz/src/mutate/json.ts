import fc from 'fast-check'
import { INTERESTING_JSON } from '../interesting.ts'
import type { Prng } from '../prng.ts'

type Json = unknown
type Container = Record<string, Json> | Json[]

const utf8 = new TextEncoder()
const MARK = '\u0000fuzz-mark\u0000'
const MARK_JSON = JSON.stringify(MARK)
/** Nesting depths tried by the "deepen" edit: around the decoders' bound (64) and where V8's stack runs out. */
const DEPTHS = [2, 8, 63, 64, 65, 100, 1_500, 3_000, 5_000]

let pool: { seed: number; values: Json[] } | undefined

/** Random JSON values from fast-check (reproducible per seed), mixed with the hand-picked interesting ones. */
function randomValue(r: Prng): Json {
  if (r.chance(0.6)) return structuredClone(r.pick(INTERESTING_JSON))
  const seed = 13
  pool ??= { seed, values: fc.sample(fc.jsonValue({ maxDepth: 3 }), { seed, numRuns: 512 }) }
  return structuredClone(r.pick(pool.values))
}

/** Every container of the tree, with the key or index of each of its children. */
function containers(root: Json): Container[] {
  const out: Container[] = []
  const stack: Json[] = [root]
  while (stack.length > 0 && out.length < 4096) {
    const v = stack.pop()
    if (v == null || typeof v !== 'object') continue
    out.push(v as Container)
    for (const child of Object.values(v as object)) stack.push(child)
  }
  return out
}

function keysOf(c: Container): Array<string | number> {
  return Array.isArray(c) ? c.map((_, i) => i) : Object.keys(c)
}

function get(c: Container, k: string | number): Json {
  return (c as Record<string | number, Json>)[k]
}

/** Sets an own member (`__proto__` included, which an assignment would turn into the prototype). */
function set(c: Container, k: string | number, v: Json): void {
  Object.defineProperty(c, k, { value: v, enumerable: true, writable: true, configurable: true })
}

function editString(r: Prng, s: string): string {
  switch (r.below(6)) {
    case 0:
      return s.slice(0, r.below(s.length + 1))
    case 1:
      return s + r.pick(['0', 'a', ' ', '\u0000', 'é', '\ud800', '"', '\\', s])
    case 2:
      return s.toUpperCase() === s ? s.toLowerCase() : s.toUpperCase()
    case 3:
      return s.repeat(r.int(2, 64))
    case 4: {
      const at = r.below(s.length + 1)
      return s.slice(0, at) + String.fromCharCode(r.below(0x10000)) + s.slice(at)
    }
    default:
      return ` ${s}`
  }
}

function editNumber(r: Prng, n: number): Json {
  return r.pick([n + 1, n - 1, -n, n * 10, n / 10, n + 0.5, String(n), 2 ** 53 + n, Number.MAX_VALUE])
}

/** Edits the tree in place (or returns a replacement root). */
function editTree(r: Prng, root: Json): Json {
  const all = containers(root)
  if (all.length === 0 || r.chance(0.05)) return randomValue(r)
  const c = r.pick(all)
  const keys = keysOf(c)
  const k = keys.length > 0 ? r.pick(keys) : Array.isArray(c) ? 0 : 'x'
  const v = get(c, k)
  switch (r.below(8)) {
    case 0:
      set(c, k, randomValue(r))
      break
    case 1:
      if (Array.isArray(c)) c.splice(Number(k), 1)
      else delete c[k as string]
      break
    case 2:
      if (Array.isArray(c)) c.push(...new Array(r.chance(0.1) ? r.int(16, 2048) : 1).fill(structuredClone(v ?? null)))
      else set(c, r.pick([`${String(k)}_`, String(k).toUpperCase(), '__proto__', 'extra', '']), randomValue(r))
      break
    case 3:
      if (typeof v === 'string') set(c, k, editString(r, v))
      else if (typeof v === 'number') set(c, k, editNumber(r, v))
      else set(c, k, randomValue(r))
      break
    case 4:
      // change the type but keep the meaning where there is one
      set(c, k, typeof v === 'string' && v !== '' && !Number.isNaN(Number(v)) ? Number(v) : JSON.stringify(v ?? null))
      break
    case 5: {
      const other = r.pick(all)
      const ok = keysOf(other)
      if (ok.length > 0) set(c, k, structuredClone(get(other, r.pick(ok))))
      break
    }
    case 6:
      set(c, k, r.chance(0.5) ? [v] : { [String(k)]: v })
      break
    default:
      if (typeof v === 'string') set(c, k, editString(r, v))
      else set(c, k, null)
  }
  return root
}

/** Wraps one value of the serialized tree in `depth` arrays or objects, as text (JSON.stringify would overflow). */
function deepen(r: Prng, root: Json): string {
  const all = containers(root)
  const depth = r.pick(DEPTHS)
  const open = r.chance(0.5) ? '['.repeat(depth) : '{"a":'.repeat(depth)
  const close = open.startsWith('[') ? ']'.repeat(depth) : '}'.repeat(depth)
  if (all.length === 0) return open + JSON.stringify(root ?? null) + close
  const c = r.pick(all)
  const keys = keysOf(c)
  if (keys.length === 0) return JSON.stringify(root)
  const k = r.pick(keys)
  const inner = JSON.stringify(get(c, k) ?? null)
  set(c, k, MARK)
  return JSON.stringify(root).replace(MARK_JSON, () => open + inner + close)
}

/** Text-level edits JSON.parse reads the same or almost (whitespace, escapes, duplicate keys, trailing bytes). */
function editText(r: Prng, text: string): string {
  switch (r.below(5)) {
    case 0:
      return text.replace(/([,:{[])/g, (m) => (r.chance(0.3) ? `${m}${r.pick([' ', '\n', '\t', '\r\n'])}` : m))
    case 1:
      return text.replace(/[a-z]/, (m) => `\\u00${m.charCodeAt(0).toString(16)}`)
    case 2: {
      const m = /\{"([^"]+)":/.exec(text)
      return m == null ? text : text.replace(m[0], `${m[0]}null,"${m[1]}":`)
    }
    case 3:
      return text + r.pick([' ', '\n', '}', ']', '0', '\u0000', 'x'])
    default:
      return `\ufeff${text}`
  }
}

/**
 * Parses `input` as UTF-8 JSON and applies one structure-aware edit — a value replaced (by a hand-picked or a
 * fast-check value), removed, repeated, retyped or moved, a member added, a value nested hundreds or thousands deep —
 * or a text-level one. Returns the input unchanged when it is not JSON.
 */
export function mutateJson(r: Prng, input: Uint8Array): Uint8Array {
  let root: Json
  try {
    root = JSON.parse(new TextDecoder().decode(input))
  } catch {
    return input
  }
  const roll = r.below(10)
  if (roll === 0) return utf8.encode(deepen(r, root))
  if (roll === 1) return utf8.encode(editText(r, JSON.stringify(root)))
  const edits = 1 + r.size(3)
  for (let i = 0; i < edits; i++) root = editTree(r, root)
  try {
    return utf8.encode(JSON.stringify(root))
  } catch {
    return input
  }
}
