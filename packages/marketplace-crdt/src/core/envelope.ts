import { createPublicKey, verify as cryptoVerify } from 'node:crypto'
import { parseBoundedJson } from '@betar/bounded-json'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { fromString as fromBase64url, toString as toBase64url } from 'uint8arrays'
import { z } from 'zod'
import { InvalidListingError } from '../errors.ts'
import { type ListingRecord, ListingRecordSchema } from './listing.ts'
import { type SignatureJob, verifyInParallel } from './parallel-verify.ts'

/** Deepest nesting of a signed record's JSON (its input/output schemas included). */
export const MAX_RECORD_DEPTH = 32

/** Largest signed listing accepted from the network. */
export const MAX_ENVELOPE_SIZE = 16 * 1024

/** Domain separation: a listing signature can never be replayed as another kind of libp2p-key signature. */
const DOMAIN = new TextEncoder().encode('betar/marketplace/listing/v1\n')

const EnvelopeSchema = z.strictObject({ p: z.string().max(MAX_ENVELOPE_SIZE), s: z.string().max(256) })

/** A verified record and the exact bytes it travelled as. */
export interface SignedRecord {
  record: ListingRecord
  bytes: Uint8Array
}

/** Canonical JSON (keys sorted) so that the signed bytes are reproducible. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    v != null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v
  )
}

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), followed by the 32-byte raw key. */
const ED25519_SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00])
const verifiers = new Map<string, (data: Uint8Array, signature: Uint8Array) => boolean>()

function ed25519Spki(raw: Uint8Array): Uint8Array {
  const spki = new Uint8Array(ED25519_SPKI_PREFIX.byteLength + raw.byteLength)
  spki.set(ED25519_SPKI_PREFIX)
  spki.set(raw, ED25519_SPKI_PREFIX.byteLength)
  return spki
}

/**
 * Verifies a seller's signature. Ed25519 keys (the libp2p default) go through a cached Node `KeyObject`: a sync of
 * 10,000 listings verifies 10,000 signatures, and `@libp2p/crypto` re-imports the raw key on every call (≈ 2× slower,
 * measured in bench/). Other key types use `@libp2p/crypto`.
 */
function verifySignature(
  seller: string,
  data: Uint8Array,
  signature: Uint8Array,
  signatureText?: string,
  checked?: PreverifiedSignatures
): boolean {
  // Checked moments ago in parallel (see preverify): only for exactly the same signed bytes.
  const known = signatureText != null ? checked?.get(`${seller}\n${signatureText}`) : undefined
  if (known != null && equalBytes(known, data)) return true
  let verify = verifiers.get(seller)
  if (verify == null) {
    let key: PublicKey | undefined
    try {
      key = peerIdFromString(seller).publicKey
    } catch {
      key = undefined
    }
    if (key == null) throw new InvalidListingError('seller is not a peer id with an embedded public key')
    if (key.type === 'Ed25519') {
      const object = createPublicKey({ key: Buffer.from(ed25519Spki(key.raw)), format: 'der', type: 'spki' })
      verify = (d, sig) => cryptoVerify(null, d, object, sig)
    } else {
      const k = key
      verify = (d, sig) => k.verify(d, sig) === true
    }
    if (verifiers.size > 100_000) verifiers.clear()
    verifiers.set(seller, verify)
  }
  return verify(data, signature)
}

function signedBytes(payload: string): Uint8Array {
  const body = new TextEncoder().encode(payload)
  const out = new Uint8Array(DOMAIN.byteLength + body.byteLength)
  out.set(DOMAIN)
  out.set(body, DOMAIN.byteLength)
  return out
}

/** Signs a listing or delisting with the seller's libp2p key; the record's `seller` must be that key's peer id. */
export async function signRecord(record: ListingRecord, key: PrivateKey): Promise<SignedRecord> {
  const payload = canonical(ListingRecordSchema.parse(record))
  const signature = await key.sign(signedBytes(payload))
  const bytes = new TextEncoder().encode(JSON.stringify({ p: payload, s: toBase64url(signature, 'base64url') }))
  if (bytes.byteLength > MAX_ENVELOPE_SIZE)
    throw new InvalidListingError(`signed listing over ${MAX_ENVELOPE_SIZE} bytes`)
  // The record as every verifier reads it back (values JSON cannot carry, such as Infinity, become what JSON makes of
  // them), so that a seller's own view matches its peers'.
  return { record: ListingRecordSchema.parse(JSON.parse(payload)), bytes }
}

/** A signed record decoded and schema-checked, its signature not checked yet (see {@link verifyParsed}). */
export interface ParsedRecord extends SignedRecord {
  /** The canonical payload the signature covers. */
  payload: string
  signature: Uint8Array
  /** The signature as it travelled (base64url). */
  signatureText: string
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A surrogate code unit not part of a pair (`u` mode reads pairs as one code point). */
const LONE_SURROGATE = /\p{Cs}/u

/**
 * Decodes a signed record from the network without checking its signature: size, JSON shape, schema. Cheap checks
 * (is it the right key, is it newer) can then run before the expensive one. Throws {@link InvalidListingError}.
 */
export function parseRecord(bytes: Uint8Array): ParsedRecord {
  if (bytes.byteLength > MAX_ENVELOPE_SIZE) throw new InvalidListingError('signed listing too large')
  try {
    const envelope = EnvelopeSchema.parse(JSON.parse(utf8.decode(bytes)))
    // The signature covers the payload's UTF-8, and UTF-8 cannot carry a lone surrogate (TextEncoder writes U+FFFD):
    // a payload with one would verify with the signature of another text (review of issue 13).
    if (LONE_SURROGATE.test(envelope.p)) throw new Error('payload is not well-formed Unicode')
    // Bounded before anything recursive reads it: a signed schema nested thousands deep parsed, then made every
    // JSON.stringify of the listing (a node's GET /listings) throw RangeError.
    // A `__proto__` member is refused too: zod drops it, so the record read would differ from the one signed.
    const record = ListingRecordSchema.parse(parseBoundedJson(envelope.p, { maxDepth: MAX_RECORD_DEPTH }))
    const signature = fromBase64url(envelope.s, 'base64url')
    return { record, bytes, payload: envelope.p, signature, signatureText: envelope.s }
  } catch (err) {
    throw new InvalidListingError(`malformed listing: ${(err as Error).message.slice(0, 200)}`)
  }
}

/** Whether a parsed record's signature verifies for its seller (`checked`: signatures verified moments ago). */
export function verifyParsed(parsed: ParsedRecord, checked?: PreverifiedSignatures): boolean {
  try {
    return verifySignature(
      parsed.record.seller,
      signedBytes(parsed.payload),
      parsed.signature,
      parsed.signatureText,
      checked
    )
  } catch {
    return false
  }
}

/**
 * Decodes and verifies a signed record from the network: size, JSON shape, schema, and an Ed25519/secp256k1/RSA
 * signature by the public key embedded in `record.seller`'s peer id. Throws {@link InvalidListingError}.
 */
export function verifyRecord(bytes: Uint8Array, checked?: PreverifiedSignatures): SignedRecord {
  const parsed = parseRecord(bytes)
  if (
    !verifySignature(parsed.record.seller, signedBytes(parsed.payload), parsed.signature, parsed.signatureText, checked)
  ) {
    throw new InvalidListingError('listing signature does not verify for its seller')
  }
  return { record: parsed.record, bytes }
}

/** Signatures a {@link preverify} call checked: `seller\nsignature` → the exact bytes that were signed. */
export type PreverifiedSignatures = Map<string, Uint8Array>

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

const spkis = new Map<string, Uint8Array | null>()

/** The Ed25519 SPKI of a seller's key; `null` for other key types or a peer id without an embedded key. */
function spkiOf(seller: string): Uint8Array | null {
  let spki = spkis.get(seller)
  if (spki === undefined) {
    try {
      const key = peerIdFromString(seller).publicKey
      spki = key?.type === 'Ed25519' ? ed25519Spki(key.raw) : null
    } catch {
      spki = null
    }
    if (spkis.size > 100_000) spkis.clear()
    spkis.set(seller, spki)
  }
  return spki
}

/**
 * Verifies the signatures of many parsed records on two cores, yielding to the event loop between slices (a state sync,
 * or a large gossip message). Returns one verdict per record, in order.
 */
export async function verifyParsedMany(
  entries: readonly ParsedRecord[],
  checked?: PreverifiedSignatures
): Promise<boolean[]> {
  const out = new Array<boolean>(entries.length).fill(false)
  const jobs: Array<SignatureJob & { index: number }> = []
  const others: number[] = []
  entries.forEach((entry, index) => {
    const spki = spkiOf(entry.record.seller)
    if (spki == null || checked != null) others.push(index)
    else jobs.push({ spki, data: signedBytes(entry.payload), signature: entry.signature, index })
  })
  const verdicts = await verifyInParallel(jobs, (job) => verifyParsed(entries[job.index] as ParsedRecord))
  jobs.forEach((job, i) => {
    out[job.index] = verdicts[i] === true
  })
  for (const index of others) out[index] = verifyParsed(entries[index] as ParsedRecord, checked)
  return out
}

/**
 * Verifies the Ed25519 signatures of many signed records at once on two cores. The result can be passed to validation
 * (`preverified`), which then skips the check only for byte-identical signed data. Records that do not parse are left
 * for validation to reject.
 */
export async function preverify(entries: Uint8Array[]): Promise<PreverifiedSignatures> {
  const parsed: ParsedRecord[] = []
  for (const bytes of entries) {
    try {
      parsed.push(parseRecord(bytes))
    } catch {
      // malformed: validation reports it
    }
  }
  const verdicts = await verifyParsedMany(parsed)
  const checked: PreverifiedSignatures = new Map()
  verdicts.forEach((ok, i) => {
    const entry = parsed[i]
    if (ok && entry != null) checked.set(`${entry.record.seller}\n${entry.signatureText}`, signedBytes(entry.payload))
  })
  return checked
}
