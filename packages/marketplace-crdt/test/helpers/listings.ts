import type { Delisting, Listing, ListingRecord } from '../../src/core/listing.ts'
import type { ListingInput } from '../../src/core/marketplace-doc.ts'
import type { Prng } from './prng.ts'

const chars = (s: string): string[] => Array.from(s)

export const ID_ALPHABET = chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-')
const CAPABILITY_ALPHABET = chars('abcdefghijklmnopqrstuvwxyz0123456789._-')
const HEX = chars('0123456789abcdefABCDEF')
const DIGITS = chars('0123456789')
/**
 * Free text: ASCII, JSON metacharacters, control characters, line/paragraph separators, non-BMP characters (surrogate
 * pairs) and lone surrogates, which `JSON.stringify` escapes: every one must survive canonical JSON and signing.
 */
const TEXT_ALPHABET = [
  ...chars('abcXYZ 019/:._-'),
  '"',
  '\\',
  '\n',
  '\t',
  '\u0000',
  '\u001f',
  '\u007f',
  '\u2028',
  '\u2029',
  'é',
  'ß',
  '中',
  '😀',
  '\ud800',
  '\udfff',
  '\ufeff'
]
/** Object keys for JSON Schemas, including integer-like ones (which JS orders first in an object). */
const KEY_ALPHABET = [...chars('abcAB_$09'), 'é']

export const address = (r: Prng): string => `0x${r.string(HEX, 40, 40)}`

export const text = (r: Prng, min: number, max: number): string => {
  // Draw whole characters until the UTF-16 length fits `max` (a surrogate pair counts two).
  let out = ''
  const want = r.int(min, max)
  while (out.length < want) {
    const c = r.pick(TEXT_ALPHABET)
    if (out.length + c.length > max) break
    out += c
  }
  return out.length < min ? out.padEnd(min, 'x') : out
}

export const listingId = (r: Prng): string => r.string(ID_ALPHABET, 1, 12)

/** An arbitrary JSON value (no `-0`, NaN or Infinity: those are not JSON). */
function jsonValue(r: Prng, depth: number): unknown {
  const kind = r.int(0, depth > 2 ? 4 : 6)
  switch (kind) {
    case 0:
      return null
    case 1:
      return r.bool()
    case 2:
      return r.bool() ? r.int(-1_000_000, 1_000_000) : Number((r.float() * 1e6 - 5e5).toPrecision(r.int(1, 17))) || 1
    case 3:
      return text(r, 0, 12)
    case 4:
      return r.int(0, 2 ** 31) * 2 ** 22 // large integers, still exact doubles
    case 5:
      return Array.from({ length: r.int(0, 3) }, () => jsonValue(r, depth + 1))
    default:
      return jsonObject(r, depth + 1)
  }
}

function jsonObject(r: Prng, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (let i = r.int(0, 4); i > 0; i--) out[r.string(KEY_ALPHABET, 1, 4)] = jsonValue(r, depth)
  return out
}

/** Random, schema-valid fields a seller fills in (sizes kept well under the 16 KiB envelope bound). */
export function randomListingInput(r: Prng, id: string, ttlMs: number): ListingInput {
  const input: ListingInput = {
    id,
    multiaddrs: Array.from(
      { length: r.int(0, 3) },
      () => `/ip4/10.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}/tcp/${r.int(1, 65535)}`
    ),
    protocols: Array.from({ length: r.int(1, 3) }, () => `/x402/libp2p/${r.int(1, 3)}.0.0`),
    resource: text(r, 1, 40),
    name: text(r, 1, 60),
    description: text(r, 0, 200),
    capabilities: Array.from({ length: r.int(1, 4) }, () => r.string(CAPABILITY_ALPHABET, 1, 16)),
    price: {
      scheme: 'exact',
      network: `eip155:${r.int(1, 99_999)}`,
      amount: `${r.int(1, 9)}${r.string(DIGITS, 0, r.bool(0.1) ? 77 : 8)}`,
      asset: address(r),
      payTo: address(r),
      maxTimeoutSeconds: r.int(1, 3600),
      extra: { name: text(r, 0, 20), version: text(r, 0, 4) }
    },
    ttlMs
  }
  if (r.bool(0.3)) input.inputSchema = jsonObject(r, 0)
  if (r.bool(0.3)) input.outputSchema = jsonObject(r, 0)
  if (r.bool(0.3))
    input.erc8004 = {
      agentId: r.bool(0.1) ? '0' : `${r.int(1, 9)}${r.string(DIGITS, 0, 20)}`,
      agentRegistry: `eip155:${r.int(0, 999_999_999_999)}:${address(r)}`
    }
  return input
}

/** A new price amount, different from `previous`. */
export function otherAmount(r: Prng, previous: string): string {
  for (;;) {
    const amount = `${r.int(1, 9)}${r.string(DIGITS, 0, 8)}`
    if (amount !== previous) return amount
  }
}

/** A random, schema-valid listing or delisting by `seller`. */
export function randomRecord(r: Prng, seller: string): ListingRecord {
  const updatedAt = r.bool(0.1) ? r.int(0, 10) : r.int(1_600_000_000_000, 1_900_000_000_000)
  if (r.bool(0.25)) {
    const delisting: Delisting = { v: 1, kind: 'delisting', id: listingId(r), seller, updatedAt }
    return delisting
  }
  const { ttlMs, ...fields } = randomListingInput(r, listingId(r), 0)
  void ttlMs
  const listing: Listing = {
    ...fields,
    v: 1,
    kind: 'listing',
    seller,
    createdAt: updatedAt - r.int(0, updatedAt),
    updatedAt,
    expiresAt: updatedAt + r.int(0, 24 * 60 * 60 * 1000)
  }
  return listing
}
