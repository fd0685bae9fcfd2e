import { keccak256, toBytes } from 'viem'

/** JSON with object keys sorted at every level (and bigints as decimal strings): the bytes hashes are taken over. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value))
}

function sortKeys(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value != null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key]
      if (v !== undefined) Object.defineProperty(out, key, { value: sortKeys(v), enumerable: true })
    }
    return out
  }
  return value
}

/** keccak256 of a value's canonical JSON. */
export function hashJson(value: unknown): `0x${string}` {
  return keccak256(toBytes(canonicalJson(value)))
}
