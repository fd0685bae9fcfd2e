import { peerIdFromString } from '@libp2p/peer-id'
import { exceedsValueDepth } from '../../../bounded-json/src/index.ts'
import type { ListingRecord } from '../../src/index.ts'

const DOMAIN = new TextEncoder().encode('betar/marketplace/listing/v1\n')
const ADDRESS = /^0x[0-9a-fA-F]{40}$/
const AMOUNT = /^[1-9][0-9]{0,77}$/

/** Fixed finding (issue 13): listing schemas of any depth were accepted; a regression if seen again. */
export const DEEP_SCHEMA = 'record nests deeper than 64 levels (inputSchema/outputSchema have no depth bound)'

/** Fixed finding (issue 13): a `__proto__` member was signed but dropped from the parsed record (zod `z.record`). */
export const PROTO_KEY = 'signed payload has a "__proto__" member, missing from the parsed record'

function hasProtoKey(payload: string): boolean {
  let found = false
  JSON.parse(payload, (key, value: unknown) => {
    if (key === '__proto__') found = true
    return value
  })
  return found
}

const LISTING_KEYS = [
  'v',
  'kind',
  'id',
  'seller',
  'multiaddrs',
  'protocols',
  'resource',
  'name',
  'description',
  'capabilities',
  'inputSchema',
  'outputSchema',
  'price',
  'erc8004',
  'seq',
  'createdAt',
  'updatedAt',
  'expiresAt'
]

/** JSON with object keys sorted (recursive: only for values already known to be shallow). */
function stable(v: unknown): string {
  if (v == null || typeof v !== 'object') return JSON.stringify(v) ?? 'undefined'
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`
  const o = v as Record<string, unknown>
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stable(o[k])}`)
    .join(',')}}`
}

/** A string of `min`…`max` characters, counted in code points as zod counts them. */
const str = (v: unknown, min: number, max: number): boolean =>
  typeof v === 'string' && [...v].length >= min && [...v].length <= max
const uint = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const keys = (o: object, allowed: string[]): boolean => Object.keys(o).every((k) => allowed.includes(k))

/** The listing rules, re-implemented independently of the zod schema (docs/marketplace-threat-model.md). */
export function recordViolation(r: ListingRecord): string | undefined {
  if (r.v !== 1 || !str(r.seller, 1, 128) || !/^[A-Za-z0-9._-]{1,64}$/.test(r.id)) return 'header'
  if (!uint(r.updatedAt) || (r.seq != null && (!uint(r.seq) || r.seq > 2 ** 32))) return 'version'
  if (r.kind === 'delisting') return keys(r, ['v', 'kind', 'id', 'seller', 'seq', 'updatedAt']) ? undefined : 'keys'
  if (r.kind !== 'listing') return 'kind'
  const l = r
  if (!keys(l, LISTING_KEYS)) return 'keys'
  if (!Array.isArray(l.multiaddrs) || l.multiaddrs.length > 16 || !l.multiaddrs.every((m) => str(m, 0, 512)))
    return 'multiaddrs'
  if (!Array.isArray(l.protocols) || l.protocols.length < 1 || l.protocols.length > 8) return 'protocols'
  if (!str(l.resource, 1, 256) || !str(l.name, 1, 128) || !str(l.description, 0, 2048)) return 'texts'
  if (!Array.isArray(l.capabilities) || l.capabilities.length < 1 || l.capabilities.length > 32) return 'capabilities'
  if (!l.capabilities.every((c) => /^[a-z0-9._-]{1,64}$/.test(c))) return 'capability'
  const p = l.price
  if (!keys(p, ['scheme', 'network', 'amount', 'asset', 'payTo', 'maxTimeoutSeconds', 'extra'])) return 'price keys'
  if (p.scheme !== 'exact' || !/^eip155:[0-9]{1,12}$/.test(p.network)) return 'price network'
  if (!AMOUNT.test(p.amount)) return `price amount ${JSON.stringify(p.amount)}`
  if (!ADDRESS.test(p.asset) || !ADDRESS.test(p.payTo)) return 'price addresses'
  if (!Number.isInteger(p.maxTimeoutSeconds) || p.maxTimeoutSeconds < 1 || p.maxTimeoutSeconds > 3600) return 'timeout'
  if (!str(p.extra.name, 0, 64) || !str(p.extra.version, 0, 16) || !keys(p.extra, ['name', 'version'])) return 'extra'
  if (!uint(l.createdAt) || !uint(l.expiresAt)) return 'timestamps'
  if (exceedsValueDepth(l, 64)) return DEEP_SCHEMA
  return undefined
}

/** Whether `signature` over the payload verifies for the seller's key, checked with `@libp2p/crypto` directly. */
export async function signatureValid(seller: string, payload: string, signature: string): Promise<boolean> {
  const key = peerIdFromString(seller).publicKey
  if (key == null) return false
  const body = new TextEncoder().encode(payload)
  const data = new Uint8Array(DOMAIN.byteLength + body.byteLength)
  data.set(DOMAIN)
  data.set(body, DOMAIN.byteLength)
  return key.verify(data, Buffer.from(signature, 'base64url'))
}

/** Everything a verified record's bytes must satisfy: envelope shape, signature, the record as signed, its rules. */
export async function signedRecordViolation(bytes: Uint8Array, record: ListingRecord): Promise<string | undefined> {
  const env = JSON.parse(new TextDecoder().decode(bytes)) as { p: unknown; s: unknown }
  if (typeof env.p !== 'string' || typeof env.s !== 'string' || !keys(env, ['p', 's'])) return 'envelope shape'
  if (bytes.byteLength > 16 * 1024) return 'envelope size'
  const problem = recordViolation(record)
  if (problem != null) return problem
  if (stable(JSON.parse(env.p)) !== stable(record))
    return hasProtoKey(env.p) ? PROTO_KEY : 'record differs from what was signed'
  if (!(await signatureValid(record.seller, env.p, env.s))) return 'signature does not verify'
  return undefined
}
