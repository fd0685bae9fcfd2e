import { createPublicKey, verify as cryptoVerify } from 'node:crypto'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { fromString as fromBase64url, toString as toBase64url } from 'uint8arrays'
import { z } from 'zod'
import { InvalidListingError } from '../errors.ts'
import { type ListingRecord, ListingRecordSchema } from './listing.ts'
import { type SignatureJob, verifyInParallel } from './parallel-verify.ts'

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
  const parsed = ListingRecordSchema.parse(record)
  const payload = canonical(parsed)
  const signature = await key.sign(signedBytes(payload))
  const bytes = new TextEncoder().encode(JSON.stringify({ p: payload, s: toBase64url(signature, 'base64url') }))
  if (bytes.byteLength > MAX_ENVELOPE_SIZE)
    throw new InvalidListingError(`signed listing over ${MAX_ENVELOPE_SIZE} bytes`)
  return { record: parsed, bytes }
}

/**
 * Decodes and verifies a signed record from the network: size, JSON shape, schema, and an Ed25519/secp256k1/RSA
 * signature by the public key embedded in `record.seller`'s peer id. Throws {@link InvalidListingError}.
 */
export function verifyRecord(bytes: Uint8Array, checked?: PreverifiedSignatures): SignedRecord {
  if (bytes.byteLength > MAX_ENVELOPE_SIZE) throw new InvalidListingError('signed listing too large')
  let envelope: z.infer<typeof EnvelopeSchema>
  let record: ListingRecord
  let signature: Uint8Array
  try {
    envelope = EnvelopeSchema.parse(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)))
    record = ListingRecordSchema.parse(JSON.parse(envelope.p))
    signature = fromBase64url(envelope.s, 'base64url')
  } catch (err) {
    throw new InvalidListingError(`malformed listing: ${(err as Error).message.slice(0, 200)}`)
  }
  if (!verifySignature(record.seller, signedBytes(envelope.p), signature, envelope.s, checked)) {
    throw new InvalidListingError('listing signature does not verify for its seller')
  }
  return { record, bytes }
}

/** Signatures a {@link preverify} call checked: `seller\nsignature` → the exact bytes that were signed. */
export type PreverifiedSignatures = Map<string, Uint8Array>

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Verifies the Ed25519 signatures of many signed records at once on two cores (a full-state sync). The result is
 * passed to validation, which then skips the check only for byte-identical signed data. Records that do not parse
 * are left for validation to reject.
 */
export async function preverify(entries: Uint8Array[]): Promise<PreverifiedSignatures> {
  const jobs: Array<SignatureJob & { cacheKey: string; seller: string }> = []
  const spkis = new Map<string, Uint8Array | null>()
  const decoder = new TextDecoder('utf-8', { fatal: true })
  for (const bytes of entries) {
    try {
      const envelope = JSON.parse(decoder.decode(bytes)) as { p?: unknown; s?: unknown }
      if (typeof envelope.p !== 'string' || typeof envelope.s !== 'string') continue
      const seller = (JSON.parse(envelope.p) as { seller?: unknown }).seller
      if (typeof seller !== 'string') continue
      let spki = spkis.get(seller)
      if (spki === undefined) {
        const key = peerIdFromString(seller).publicKey
        spki = key?.type === 'Ed25519' ? ed25519Spki(key.raw) : null
        spkis.set(seller, spki)
      }
      if (spki == null) continue
      const data = signedBytes(envelope.p)
      jobs.push({
        spki,
        data,
        signature: fromBase64url(envelope.s, 'base64url'),
        cacheKey: `${seller}\n${envelope.s}`,
        seller
      })
    } catch {
      // malformed: validation reports it
    }
  }
  const verdicts = await verifyInParallel(jobs, (job) => {
    try {
      return verifySignature((job as (typeof jobs)[number]).seller, job.data, job.signature)
    } catch {
      return false
    }
  })
  const checked: PreverifiedSignatures = new Map()
  verdicts.forEach((ok, i) => {
    const job = jobs[i]
    if (ok && job != null) checked.set(job.cacheKey, job.data)
  })
  return checked
}
