import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { fromString as fromBase64url, toString as toBase64url } from 'uint8arrays'
import { z } from 'zod'
import { InvalidListingError } from '../errors.ts'
import { type ListingRecord, ListingRecordSchema } from './listing.ts'

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
export function verifyRecord(bytes: Uint8Array): SignedRecord {
  if (bytes.byteLength > MAX_ENVELOPE_SIZE) throw new InvalidListingError('signed listing too large')
  let envelope: z.infer<typeof EnvelopeSchema>
  let record: ListingRecord
  try {
    envelope = EnvelopeSchema.parse(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)))
    record = ListingRecordSchema.parse(JSON.parse(envelope.p))
  } catch (err) {
    throw new InvalidListingError(`malformed listing: ${(err as Error).message.slice(0, 200)}`)
  }
  if (canonical(record) !== envelope.p) throw new InvalidListingError('listing payload is not canonical')
  let key: PublicKey | undefined
  try {
    key = peerIdFromString(record.seller).publicKey
  } catch {
    key = undefined
  }
  if (key == null) throw new InvalidListingError('seller is not a peer id with an embedded public key')
  const signature = fromBase64url(envelope.s, 'base64url')
  const valid = key.verify(signedBytes(envelope.p), signature)
  if (valid !== true) throw new InvalidListingError('listing signature does not verify for its seller')
  return { record, bytes }
}
