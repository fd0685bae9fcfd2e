import { createPublicKey, verify as cryptoVerify } from 'node:crypto'
import { parseBoundedJson } from '@betar/bounded-json'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { toString as toBase64url } from 'uint8arrays'
import { z } from 'zod'
import { InvalidListingError } from '../errors.ts'
import { batchTree, MAX_BATCH_SIZE, MAX_PROOF_BYTES, MIN_PROOF_BYTES, rootFromProof } from './batch-signature.ts'
import { type ListingRecord, ListingRecordSchema } from './listing.ts'
import { BATCH_DOMAIN_TEXT, type SignatureJob, verifyInParallel } from './parallel-verify.ts'

/** Deepest nesting of a signed record's JSON (its input/output schemas included). */
export const MAX_RECORD_DEPTH = 32

/** Largest signed listing accepted from the network. */
export const MAX_ENVELOPE_SIZE = 16 * 1024

/** Domain separation: a listing signature can never be replayed as another kind of libp2p-key signature. */
const DOMAIN = new TextEncoder().encode('betar/marketplace/listing/v1\n')
/** What a batch signature signs, followed by the 32-byte Merkle root of the batch (see batch-signature.ts). */
const BATCH_DOMAIN = new TextEncoder().encode(BATCH_DOMAIN_TEXT)

/**
 * A signed record: `p` the canonical payload, `s` the seller's signature (base64url). Alone, `s` signs
 * `DOMAIN || p`; with `b` (base64url of an RFC 9162 inclusion proof, see batch-signature.ts), `s` signs
 * `BATCH_DOMAIN || size || root` of a Merkle tree whose leaves are the batch's `DOMAIN || p`, and `b` places this one in
 * it. The envelope's JSON must be exactly `JSON.stringify` of `{p, s}` or `{p, s, b}`.
 */
const EnvelopeSchema = z.strictObject({
  p: z.string().max(MAX_ENVELOPE_SIZE),
  s: z.string().max(256),
  b: z
    .string()
    .min(Math.ceil((MIN_PROOF_BYTES * 4) / 3))
    .max(Math.ceil((MAX_PROOF_BYTES * 4) / 3))
    .optional()
})

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
  if (signatureText != null && checked != null && signedBefore(checked, seller, signatureText, data)) return true
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

/**
 * What a batch signature signs: `BATCH_DOMAIN || size (u32 BE) || root`. The size is signed so that a proof has one
 * spelling: without it, a leaf's path also folds to the root under other (index, size) headers (leaf 4 of 5 as leaf 1
 * of 2), and a third party could re-spell a signed record (review of the batch signatures).
 */
function batchSignedBytes(root: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(BATCH_DOMAIN.byteLength + 4 + root.byteLength)
  out.set(BATCH_DOMAIN)
  new DataView(out.buffer).setUint32(BATCH_DOMAIN.byteLength, size)
  out.set(root, BATCH_DOMAIN.byteLength + 4)
  return out
}

function envelopeOf(payload: string, signature: Uint8Array, proof?: Uint8Array): SignedRecord {
  const envelope: { p: string; s: string; b?: string } = { p: payload, s: toBase64url(signature, 'base64url') }
  if (proof != null) envelope.b = toBase64url(proof, 'base64url')
  const bytes = new TextEncoder().encode(JSON.stringify(envelope))
  if (bytes.byteLength > MAX_ENVELOPE_SIZE)
    throw new InvalidListingError(`signed listing over ${MAX_ENVELOPE_SIZE} bytes`)
  // The record as every verifier reads it back (values JSON cannot carry, such as Infinity, become what JSON makes of
  // them), so that a seller's own view matches its peers'.
  return { record: ListingRecordSchema.parse(JSON.parse(payload)), bytes }
}

/** Signs a listing or delisting with the seller's libp2p key; the record's `seller` must be that key's peer id. */
export async function signRecord(record: ListingRecord, key: PrivateKey): Promise<SignedRecord> {
  const payload = canonical(ListingRecordSchema.parse(record))
  return envelopeOf(payload, await key.sign(signedBytes(payload)))
}

/**
 * Signs records of one seller with one signature (a batch signature: see {@link EnvelopeSchema}), or one record alone
 * as {@link signRecord} does. A verifier then checks one signature per batch, not per record: a catalogue of 100
 * listings costs each of its receivers one Ed25519 check (and eight SHA-256 per listing) instead of 100 checks.
 * @throws InvalidListingError for a record over {@link MAX_ENVELOPE_SIZE} signed; RangeError for more than 4,096
 */
export async function signRecords(records: readonly ListingRecord[], key: PrivateKey): Promise<SignedRecord[]> {
  if (records.length <= 1) return Promise.all(records.map((r) => signRecord(r, key)))
  if (records.length > MAX_BATCH_SIZE) throw new RangeError(`at most ${MAX_BATCH_SIZE} records in one batch`)
  const payloads = records.map((r) => canonical(ListingRecordSchema.parse(r)))
  const { root, proofs } = batchTree(payloads.map(signedBytes))
  const signature = await key.sign(batchSignedBytes(root, records.length))
  return payloads.map((payload, i) => envelopeOf(payload, signature, proofs[i]))
}

/** A signed record decoded and schema-checked, its signature not checked yet (see {@link verifyParsed}). */
export interface ParsedRecord extends SignedRecord {
  /** The canonical payload the signature covers. */
  payload: string
  signature: Uint8Array
  /** The signature as it travelled (base64url). */
  signatureText: string
  /** A batch signature's inclusion proof, when the record was signed in a batch. */
  proof?: Uint8Array
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A surrogate code unit not part of a pair (`u` mode reads pairs as one code point). */
const LONE_SURROGATE = /\p{Cs}/u

/**
 * Decodes canonical unpadded base64url (RFC 4648 §5) with Node's native decoder, which skips characters outside the
 * alphabet: the text must be exactly what re-encoding the bytes gives, so one signature has one spelling (the
 * `uint8arrays` decoder is as strict but took ≈ 13 µs per record in a 100,000-listing sync).
 * @throws Error for anything else
 */
function base64url(text: string): Uint8Array {
  const buffer = Buffer.from(text, 'base64url')
  if (buffer.toString('base64url') !== text) throw new Error('not canonical base64url')
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}

/**
 * Decodes a signed record from the network without checking its signature: size, JSON shape, schema. Cheap checks
 * (is it the right key, is it newer) can then run before the expensive one. Throws {@link InvalidListingError}.
 */
export function parseRecord(bytes: Uint8Array): ParsedRecord {
  if (bytes.byteLength > MAX_ENVELOPE_SIZE) throw new InvalidListingError('signed listing too large')
  try {
    const text = utf8.decode(bytes)
    const envelope = EnvelopeSchema.parse(JSON.parse(text))
    // One spelling per signed record: exactly what `envelopeOf` writes (no other key order, spacing or escapes), so
    // no third party can put other bytes for the same record in a key's slot.
    const canonicalText =
      envelope.b == null
        ? JSON.stringify({ p: envelope.p, s: envelope.s })
        : JSON.stringify({ p: envelope.p, s: envelope.s, b: envelope.b })
    if (canonicalText !== text) throw new Error('envelope is not in its canonical form')
    // The signature covers the payload's UTF-8, and UTF-8 cannot carry a lone surrogate (TextEncoder writes U+FFFD):
    // a payload with one would verify with the signature of another text (review of issue 13).
    if (LONE_SURROGATE.test(envelope.p)) throw new Error('payload is not well-formed Unicode')
    // Bounded before anything recursive reads it: a signed schema nested thousands deep parsed, then made every
    // JSON.stringify of the listing (a node's GET /listings) throw RangeError.
    // A `__proto__` member is refused too: zod drops it, so the record read would differ from the one signed.
    const record = ListingRecordSchema.parse(parseBoundedJson(envelope.p, { maxDepth: MAX_RECORD_DEPTH }))
    const signature = base64url(envelope.s)
    const parsed: ParsedRecord = { record, bytes, payload: envelope.p, signature, signatureText: envelope.s }
    if (envelope.b != null) parsed.proof = base64url(envelope.b)
    return parsed
  } catch (err) {
    throw new InvalidListingError(`malformed listing: ${(err as Error).message.slice(0, 200)}`)
  }
}

/**
 * The bytes a parsed record's signature must cover: `DOMAIN || payload` alone, or `BATCH_DOMAIN || size || root` with
 * the size and root its inclusion proof leads to. `undefined` for a malformed proof (the record then does not verify).
 */
function signedData(parsed: ParsedRecord): Uint8Array | undefined {
  const leaf = signedBytes(parsed.payload)
  if (parsed.proof == null) return leaf
  const root = rootFromProof(leaf, parsed.proof)
  if (root == null) return undefined
  return batchSignedBytes(root, proofHeader(parsed.proof).size)
}

/**
 * Batch signatures verified here recently: `seller\nsignature` → the signed bytes (its root). The records of one batch
 * arrive in many messages or sync chunks; each then costs its proof's hashes, not a signature check. Bounded: cleared
 * past 16,384 entries.
 */
const verifiedBatches: PreverifiedSignatures = new Map()
const MAX_VERIFIED_BATCHES = 16_384

function knownBatch(parsed: ParsedRecord, data: Uint8Array): boolean {
  return parsed.proof != null && signedBefore(verifiedBatches, parsed.record.seller, parsed.signatureText, data)
}

function rememberBatch(parsed: ParsedRecord, data: Uint8Array): void {
  if (parsed.proof == null) return
  if (verifiedBatches.size >= MAX_VERIFIED_BATCHES) verifiedBatches.clear()
  verifiedBatches.set(`${parsed.record.seller}\n${parsed.signatureText}`, data)
}

/** Whether a parsed record's signature verifies for its seller (`checked`: signatures verified moments ago). */
export function verifyParsed(parsed: ParsedRecord, checked?: PreverifiedSignatures): boolean {
  try {
    const data = signedData(parsed)
    if (data == null) return false
    if (knownBatch(parsed, data)) return true
    const ok = verifySignature(parsed.record.seller, data, parsed.signature, parsed.signatureText, checked)
    if (ok) rememberBatch(parsed, data)
    return ok
  } catch {
    return false
  }
}

/**
 * Decodes and verifies a signed record from the network: size, JSON shape, schema, and an Ed25519/secp256k1/RSA
 * signature (alone, or a batch signature with the record's inclusion proof) by the public key embedded in
 * `record.seller`'s peer id. Throws {@link InvalidListingError}.
 */
export function verifyRecord(bytes: Uint8Array, checked?: PreverifiedSignatures): SignedRecord {
  const parsed = parseRecord(bytes)
  if (!verifyParsed(parsed, checked)) {
    throw new InvalidListingError('listing signature does not verify for its seller')
  }
  return { record: parsed.record, bytes }
}

/** Signatures a {@link preverify} call checked: `seller\nsignature` → the exact bytes that were signed. */
export type PreverifiedSignatures = Map<string, Uint8Array>

/** Whether `checked` holds `seller`'s signature `signatureText` as verified over exactly `data`. */
function signedBefore(
  checked: PreverifiedSignatures,
  seller: string,
  signatureText: string,
  data: Uint8Array
): boolean {
  const known = checked.get(`${seller}\n${signatureText}`)
  return known != null && equalBytes(known, data)
}

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
 * Verifies the signatures of many parsed records on the process's verification workers (see parallel-verify.ts), which
 * also fold batch records' proofs and check each batch signature once (per worker). Returns one verdict per record, in
 * order.
 */
export async function verifyParsedMany(
  entries: readonly ParsedRecord[],
  checked?: PreverifiedSignatures
): Promise<boolean[]> {
  const out = new Array<boolean>(entries.length).fill(false)
  const whole = verifyWholeBatches(entries, checked, out)
  const jobs: Array<SignatureJob & { index: number }> = []
  const others: number[] = []
  entries.forEach((entry, index) => {
    if (whole.has(index)) return
    const spki = spkiOf(entry.record.seller)
    if (spki == null || checked != null) others.push(index)
    else jobs.push({ spki, data: signedBytes(entry.payload), signature: entry.signature, proof: entry.proof, index })
  })
  const verdicts = await verifyInParallel(jobs, (job) => verifyParsed(entries[job.index] as ParsedRecord))
  jobs.forEach((job, i) => {
    out[job.index] = verdicts[i] === true
  })
  for (const index of others) out[index] = verifyParsed(entries[index] as ParsedRecord, checked)
  return out
}

/**
 * The records of batches that are all here — one seller and signature, every leaf index of the signed size once (a
 * catalogue by gossip: one message per batch): each such tree is built once from its leaves (2n − 1 SHA-256, where
 * folding every record's proof costs n·(1 + log₂ n): 800 instead of 199 for 100 listings, 8% of a node's CPU in the
 * 100-node benchmark), and a record whose proof is byte for byte its path in that tree gets the batch signature's
 * verdict, written to `out`. That is the verdict folding its own proof gives, as that path folds to the tree's root; any
 * other record (another proof, a batch in part) is left out of the returned indices, to be checked alone.
 */
function verifyWholeBatches(
  entries: readonly ParsedRecord[],
  checked: PreverifiedSignatures | undefined,
  out: boolean[]
): Set<number> {
  const done = new Set<number>()
  const batches = new Map<string, number[]>()
  entries.forEach((entry, index) => {
    if (entry.proof == null || entry.proof.byteLength < MIN_PROOF_BYTES) return
    const key = `${entry.record.seller}\n${entry.signatureText}`
    const members = batches.get(key)
    if (members == null) batches.set(key, [index])
    else members.push(index)
  })
  for (const members of batches.values()) {
    const first = entries[members[0] as number] as ParsedRecord & { proof: Uint8Array }
    const size = proofHeader(first.proof).size
    if (size < 2 || size !== members.length) continue
    const leaves = new Array<Uint8Array>(size)
    let placed = 0
    for (const index of members) {
      const entry = entries[index] as ParsedRecord & { proof: Uint8Array }
      const header = proofHeader(entry.proof)
      if (header.size !== size || header.index >= size || leaves[header.index] != null) break
      leaves[header.index] = signedBytes(entry.payload)
      placed++
    }
    if (placed !== size) continue
    const { root, proofs } = batchTree(leaves)
    const data = batchSignedBytes(root, size)
    let verdict: boolean | undefined
    for (const index of members) {
      const entry = entries[index] as ParsedRecord & { proof: Uint8Array }
      if (!equalBytes(entry.proof, proofs[proofHeader(entry.proof).index] as Uint8Array)) continue
      if (verdict === undefined) {
        try {
          verdict =
            knownBatch(entry, data) ||
            verifySignature(entry.record.seller, data, entry.signature, entry.signatureText, checked)
        } catch {
          verdict = false
        }
        if (verdict) rememberBatch(entry, data)
      }
      out[index] = verdict
      done.add(index)
    }
  }
  return done
}

/** Leaf index and tree size of an encoded inclusion proof (at least its 8-byte header). */
function proofHeader(proof: Uint8Array): { index: number; size: number } {
  const view = new DataView(proof.buffer, proof.byteOffset, proof.byteLength)
  return { index: view.getUint32(0), size: view.getUint32(4) }
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
    const data = entry != null ? signedData(entry) : undefined
    if (ok && entry != null && data != null) checked.set(`${entry.record.seller}\n${entry.signatureText}`, data)
  })
  return checked
}
