/**
 * What Go's `json.Marshal` (Go ≥ 1.22, HTML escaping on) writes for the fields of a Go listing, so that our
 * announcements are byte-identical to a Go node's:
 *
 * - strings: `"` and `\` escaped; `\b \f \n \r \t` short escapes; other C0 controls and `<`, `>`, `&` as lowercase
 *   `\u00XX`; U+2028/U+2029 as `\u2028`/`\u2029`; everything else raw UTF-8 (lone surrogates become U+FFFD, as the
 *   UTF-8 conversion of the string does).
 * - `float64`: shortest round-trip digits, exponent form below 1e-6 and from 1e21 on — `Number#toString`'s rules, and
 *   Go's `e-07` → `e-7` clean-up gives the same text; `-0` is written `-0`. NaN and ±Infinity are errors.
 * - `int64`: decimal.
 *
 * The same rules as `@betar/x402-libp2p`'s v1 encoder, kept here so the marketplace does not depend on the payments
 * package.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the C0 controls Go escapes
const ESCAPED = /[\u0000-\u001f"\\<>&\u2028\u2029]/g
const LONE_SURROGATE = /\p{Cs}/gu
const SHORT: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t'
}

function escapeChar(char: string): string {
  return SHORT[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`
}

/** A JSON string as Go writes a `string`. */
export function goString(s: string): string {
  return `"${s.replace(LONE_SURROGATE, '\ufffd').replace(ESCAPED, escapeChar)}"`
}

/** A JSON number as Go writes a `float64`. */
export function goFloat(n: number): string {
  if (!Number.isFinite(n)) throw new TypeError(`json: unsupported value: ${String(n)}`)
  return Object.is(n, -0) ? '-0' : String(n)
}

/** A JSON number as Go writes an `int64` (safe integers only). */
export function goInt(n: number): string {
  if (!Number.isSafeInteger(n)) throw new TypeError(`not a safe integer: ${String(n)}`)
  return Object.is(n, -0) ? '0' : String(n)
}

/** A `[]string` as Go writes it. */
export function goStrings(list: readonly string[]): string {
  return `[${list.map(goString).join(',')}]`
}

/** A JSON object from encoded members in struct order; `undefined` members are left out (`omitempty`). */
export function goObject(members: ReadonlyArray<readonly [string, string | undefined]>): string {
  const parts: string[] = []
  for (const [key, value] of members) if (value != null) parts.push(`${goString(key)}:${value}`)
  return `{${parts.join(',')}}`
}
