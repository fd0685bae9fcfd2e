/**
 * The parts of Go's `encoding/json` (`json.Marshal`, Go ≥ 1.22) that the `/x402/libp2p/1.0.0` messages exercise,
 * re-implemented so TypeScript emits byte-identical JSON:
 *
 * - strings: `"` and `\` backslash-escaped; `\b \f \n \r \t` short escapes (Go ≥ 1.22; older Go wrote `\u0008` and
 *   `\u000c`); other C0 controls and the HTML-sensitive `<`, `>`, `&` as lowercase `\u00XX`; U+2028/U+2029 as
 *   `\u2028`/`\u2029`; DEL and all other characters raw UTF-8. Lone UTF-16 surrogates become U+FFFD, as the UTF-8
 *   conversion of the string does before Go would ever see it.
 * - `[]byte`: standard base64 with padding. Decoding accepts what Go's `base64.StdEncoding.Decode` accepts: CR and LF
 *   are skipped, padding is mandatory, non-zero trailing bits are ignored.
 * - `map[string]…`: keys sorted by their UTF-8 bytes (not by UTF-16 code units as `Array#sort` would).
 * - `float64` (values inside `interface{}`): shortest round-trip digits, exponent form below 1e-6 and from 1e21 on,
 *   `-0` kept. JavaScript's `Number#toString` follows the same rules, except for `-0`.
 */
import { parseBoundedJson } from '@betar/bounded-json'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { V1_MAX_DATA_LENGTH, V1_MAX_JSON_DEPTH } from './constants.ts'

/** A JSON value as Go's `interface{}` holds it after `json.Unmarshal`. */
export type GoJsonValue = string | number | boolean | null | GoJsonValue[] | { [key: string]: GoJsonValue }

// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the C0 controls Go escapes
const ESCAPED = /[\u0000-\u001f"\\<>&\u2028\u2029]/g
const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t'
}

function escapeChar(char: string): string {
  const short = SHORT_ESCAPES[char]
  if (short != null) return short
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`
}

/** A JSON string literal exactly as Go's `json.Marshal` writes `s` (HTML escaping on). */
export function goJsonString(s: string): string {
  return `"${s.replace(ESCAPED, escapeChar)}"`
}

/** A JSON integer as Go writes an `int`/`int64`; throws for anything that is not a safe integer. */
export function goJsonInt(n: number, field: string): string {
  if (!Number.isSafeInteger(n)) throw new TypeError(`${field} must be a safe integer, got ${String(n)}`)
  return Object.is(n, -0) ? '0' : String(n)
}

/** A JSON number as Go writes a `float64`; throws for NaN and ±Infinity like Go's `UnsupportedValueError`. */
export function goJsonFloat(n: number): string {
  if (!Number.isFinite(n)) throw new TypeError(`json: unsupported value: ${String(n)}`)
  return Object.is(n, -0) ? '-0' : String(n)
}

const utf8 = new TextEncoder()

/** Orders strings by their UTF-8 bytes, which is code point order — Go's `sort.Strings` on map keys. */
export function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a)
  const y = utf8.encode(b)
  const n = Math.min(x.length, y.length)
  for (let i = 0; i < n; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0)
    if (d !== 0) return d
  }
  return x.length - y.length
}

/** A JSON object from already-encoded members, in the given order. */
export function goJsonObject(members: ReadonlyArray<readonly [string, string]>): string {
  return `{${members.map(([key, value]) => `${goJsonString(key)}:${value}`).join(',')}}`
}

/** A `map[string]string` as Go writes it: keys sorted by UTF-8 bytes. */
export function goJsonStringMap(map: Readonly<Record<string, string>>): string {
  const keys = Object.keys(map).sort(compareUtf8)
  return goJsonObject(keys.map((key) => [key, goJsonString(map[key] ?? '')] as const))
}

/** Any `interface{}` value as Go writes it (maps sorted, floats formatted like `float64`). */
export function goJsonValue(value: GoJsonValue): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
      return goJsonString(value)
    case 'number':
      return goJsonFloat(value)
    case 'boolean':
      return value ? 'true' : 'false'
    default:
      break
  }
  if (Array.isArray(value)) return `[${value.map(goJsonValue).join(',')}]`
  const keys = Object.keys(value).sort(compareUtf8)
  return goJsonObject(keys.map((key) => [key, goJsonValue(value[key] ?? null)] as const))
}

/** A `[]byte` field: `null` for a nil slice, otherwise standard padded base64 in quotes. */
export function goJsonBytes(bytes: Uint8Array | null): string {
  return bytes == null ? 'null' : `"${uint8ArrayToString(bytes, 'base64pad')}"`
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/**
 * Decodes a `[]byte` JSON string the way Go's `json.Unmarshal` does (`base64.StdEncoding.Decode`), or returns
 * `undefined` when Go would fail with "illegal base64 data".
 */
export function goBase64Decode(text: string): Uint8Array | undefined {
  const s = text.replace(/[\r\n]/g, '')
  if (!BASE64.test(s)) return undefined
  // atob applies the WHATWG forgiving decode, which, like Go's non-strict decoder, drops non-zero trailing bits.
  const binary = atob(s)
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return out
}

/**
 * Parses JSON bytes like Go's `json.Unmarshal` reads them: invalid UTF-8 inside strings becomes U+FFFD, and a leading
 * byte order mark is a syntax error (it is kept, so `JSON.parse` rejects it). Unlike Go (10,000 levels), nesting
 * deeper than {@link V1_MAX_JSON_DEPTH} is refused before anything recursive (the zod schema of `extra`, the
 * re-encoder) sees it; no Go peer nests its messages more than 4 levels.
 *
 * @throws JsonLimitError (`size`, `depth` or `syntax`)
 */
export function parseGoJson(data: Uint8Array): unknown {
  return parseBoundedJson(data, { utf8: 'lenient', maxBytes: V1_MAX_DATA_LENGTH, maxDepth: V1_MAX_JSON_DEPTH })
}

/** UTF-8 bytes of an encoded JSON text. */
export function jsonBytes(json: string): Uint8Array {
  return utf8.encode(json)
}
