import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'

/**
 * One Ed25519 check: the key as a 44-byte SPKI DER (RFC 8410), the signed bytes, the 64-byte signature. With `proof`
 * (a batch signature, see batch-signature.ts), `data` is the record's Merkle leaf and the signature covers
 * `BATCH_DOMAIN || size || root`, the root being what the proof folds the leaf into and the size the proof's.
 */
export interface SignatureJob {
  spki: Uint8Array
  data: Uint8Array
  signature: Uint8Array
  proof?: Uint8Array | undefined
}

/** What a batch signature signs before the Merkle root (see envelope.ts). */
export const BATCH_DOMAIN_TEXT = 'betar/marketplace/listing-batch/v1\n'

/**
 * Below this many distinct signatures a worker round trip costs more than it saves: they are checked on the calling
 * thread. Distinct, not jobs: the records of a few batches (a catalogue by gossip: 100 records, one signature) cost a
 * few signature checks and a few SHA-256 each there, less than packing them for a worker (≈ 1 ms per worker message in
 * the 100-node benchmark, most of the marketplace's main-thread verification time there).
 */
const MIN_PARALLEL = 64
/** Signatures per message to a worker: small enough that every worker gets a share of one sync chunk. */
const BATCH = 64
const SPKI_BYTES = 44
const SIGNATURE_BYTES = 64
/**
 * Per job in a packed batch: signed-data length (u32), proof field (u16: 0 without a proof, else its length + 1), SPKI,
 * signature, then data and proof.
 */
const HEADER_BYTES = 6 + SPKI_BYTES + SIGNATURE_BYTES

/*
 * The worker only runs node:crypto's Ed25519 verify over packed batches (one transferred buffer each, so no structured
 * clone of 100,000 small arrays); it keeps one KeyObject per seller key for its lifetime. It is inlined so that the
 * package ships no extra entry point.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { createPublicKey, hash, verify } = require('node:crypto')
const keys = new Map()
/** Batch signatures verified here: SPKI and signature (hex) → the tree size and root they sign (hex). Bounded. */
const roots = new Map()
const BATCH_DOMAIN = Buffer.from(${JSON.stringify(BATCH_DOMAIN_TEXT)})
const sha256 = (bytes) => hash('sha256', bytes, 'buffer')
function leafHash(leaf) {
  const input = Buffer.allocUnsafe(1 + leaf.byteLength)
  input[0] = 0
  input.set(leaf, 1)
  return sha256(input)
}
function nodeHash(left, right) {
  const input = Buffer.allocUnsafe(65)
  input[0] = 1
  input.set(left, 1)
  input.set(right, 33)
  return sha256(input)
}
// RFC 9162 section 2.1.3.2, as rootFromProof in batch-signature.ts (this worker runs eval'd source; the two are checked
// against each other in test/batch-signature.test.ts).
function fold(leaf, proof) {
  if (proof.byteLength < 8 || proof.byteLength > 8 + 12 * 32 || (proof.byteLength - 8) % 32 !== 0) return undefined
  const view = new DataView(proof.buffer, proof.byteOffset, proof.byteLength)
  const index = view.getUint32(0)
  const size = view.getUint32(4)
  if (size === 0 || size > 4096 || index >= size) return undefined
  let fn = index
  let sn = size - 1
  let r = leafHash(leaf)
  for (let at = 8; at < proof.byteLength; at += 32) {
    if (sn === 0) return undefined
    const p = proof.subarray(at, at + 32)
    if ((fn & 1) === 1 || fn === sn) {
      r = nodeHash(p, r)
      while ((fn & 1) === 0 && fn !== 0) {
        fn >>>= 1
        sn >>>= 1
      }
    } else {
      r = nodeHash(r, p)
    }
    fn >>>= 1
    sn >>>= 1
  }
  return sn === 0 ? r : undefined
}
parentPort.on('message', ({ id, buffer, count }) => {
  const bytes = new Uint8Array(buffer)
  const view = new DataView(buffer)
  const results = new Uint8Array(count)
  let at = 0
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(at)
    // 0: no proof (a record signed alone); n > 0: a proof of n - 1 bytes, which fold() refuses when malformed.
    const proofField = view.getUint16(at + 4)
    const proofLength = proofField > 0 ? proofField - 1 : 0
    const spki = bytes.subarray(at + 6, at + ${6 + SPKI_BYTES})
    const signature = bytes.subarray(at + ${6 + SPKI_BYTES}, at + ${HEADER_BYTES})
    const data = bytes.subarray(at + ${HEADER_BYTES}, at + ${HEADER_BYTES} + length)
    const proof = bytes.subarray(at + ${HEADER_BYTES} + length, at + ${HEADER_BYTES} + length + proofLength)
    at += ${HEADER_BYTES} + length + proofLength
    const hex = Buffer.from(spki).toString('hex')
    try {
      let signed = data
      let batch
      if (proofField > 0) {
        const root = fold(data, proof)
        if (root === undefined) continue
        batch = hex + Buffer.from(signature).toString('hex')
        if (roots.get(batch) === Buffer.concat([proof.subarray(4, 8), root]).toString('hex')) {
          results[i] = 1
          continue
        }
        signed = Buffer.concat([BATCH_DOMAIN, proof.subarray(4, 8), root])
      }
      let key = keys.get(hex)
      if (key === undefined) {
        if (keys.size > 100000) keys.clear()
        key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' })
        keys.set(hex, key)
      }
      results[i] = verify(null, signed, key, signature) ? 1 : 0
      if (results[i] === 1 && batch !== undefined) {
        if (roots.size > 16384) roots.clear()
        roots.set(batch, signed.subarray(BATCH_DOMAIN.byteLength).toString('hex'))
      }
    } catch {
      results[i] = 0
    }
  }
  parentPort.postMessage({ id, results }, [results.buffer])
})
`

interface Batch {
  id: number
  buffer: ArrayBuffer
  count: number
  jobs: readonly SignatureJob[]
  /** Checks one job on this thread, when no worker can. */
  fallback: (job: SignatureJob) => boolean
  done: (results: Uint8Array) => void
}

interface PoolWorker {
  worker: Worker
  batch?: Batch | undefined
}

/**
 * Worker threads checking Ed25519 signatures for every marketplace document of the process: one per core (at most 4),
 * fed batch by batch from one queue, so that a state sync of 100,000 listings keeps every core busy while the event
 * loop only parses and applies. A worker that dies has its batch checked on the calling thread and is replaced.
 * Workers hold the process open only while they have work.
 */
class VerifyPool {
  private readonly size = Math.min(4, Math.max(1, availableParallelism()))
  private readonly workers: PoolWorker[] = []
  private readonly queue: Batch[] = []
  private nextId = 0
  private broken = false

  /** Checks `jobs` (Ed25519 keys and 64-byte signatures only); `fallback` checks one job on this thread. */
  verify(jobs: readonly SignatureJob[], fallback: (job: SignatureJob) => boolean): Promise<boolean[]> {
    if (this.broken) return Promise.resolve(jobs.map(fallback))
    const parts: Array<Promise<Uint8Array>> = []
    for (let from = 0; from < jobs.length; from += BATCH) {
      const slice = jobs.slice(from, from + BATCH)
      parts.push(
        new Promise((done) => this.queue.push({ ...pack(slice), id: this.nextId++, jobs: slice, fallback, done }))
      )
    }
    this.pump()
    return Promise.all(parts).then((results) => {
      const out: boolean[] = []
      for (const r of results) for (const v of r) out.push(v === 1)
      return out
    })
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const idle = this.idleWorker()
      if (idle == null) return
      const batch = this.queue.shift() as Batch
      idle.batch = batch
      idle.worker.ref()
      idle.worker.postMessage({ id: batch.id, buffer: batch.buffer, count: batch.count }, [batch.buffer])
    }
  }

  private idleWorker(): PoolWorker | undefined {
    const idle = this.workers.find((w) => w.batch == null)
    if (idle != null || this.workers.length >= this.size) return idle
    try {
      return this.spawn()
    } catch {
      // No worker threads here (a restricted runtime): every check runs on the calling thread.
      this.broken = true
      for (const batch of this.queue.splice(0)) batch.done(checkHere(batch))
      return undefined
    }
  }

  private spawn(): PoolWorker {
    const entry: PoolWorker = { worker: new Worker(WORKER_SOURCE, { eval: true }) }
    entry.worker.unref()
    entry.worker.on('message', ({ id, results }: { id: number; results: Uint8Array }) => {
      const batch = entry.batch
      entry.batch = undefined
      entry.worker.unref()
      if (batch?.id === id) batch.done(results)
      this.pump()
    })
    entry.worker.on('error', () => this.retire(entry))
    entry.worker.on('exit', () => this.retire(entry))
    this.workers.push(entry)
    return entry
  }

  private retire(entry: PoolWorker): void {
    const at = this.workers.indexOf(entry)
    if (at < 0) return
    this.workers.splice(at, 1)
    const batch = entry.batch
    entry.batch = undefined
    if (batch != null) batch.done(checkHere(batch))
    this.pump()
  }
}

/** A batch the workers could not take, checked here (its packed buffer may be gone: the jobs are kept). */
function checkHere(batch: Batch): Uint8Array {
  return Uint8Array.from(batch.jobs, (job) => (batch.fallback(job) ? 1 : 0))
}

const EMPTY = new Uint8Array(0)

function pack(jobs: readonly SignatureJob[]): { buffer: ArrayBuffer; count: number } {
  let size = 0
  for (const job of jobs) size += HEADER_BYTES + job.data.byteLength + (job.proof?.byteLength ?? 0)
  const bytes = new Uint8Array(size)
  const view = new DataView(bytes.buffer)
  let at = 0
  for (const job of jobs) {
    const proof = job.proof ?? EMPTY
    view.setUint32(at, job.data.byteLength)
    // An empty proof is not an absent one (review of the batch signatures: a record signed alone with `b: ""` passed as
    // signed alone here, and failed on the calling thread).
    view.setUint16(at + 4, job.proof == null ? 0 : proof.byteLength + 1)
    bytes.set(job.spki, at + 6)
    bytes.set(job.signature, at + 6 + SPKI_BYTES)
    bytes.set(job.data, at + HEADER_BYTES)
    bytes.set(proof, at + HEADER_BYTES + job.data.byteLength)
    at += HEADER_BYTES + job.data.byteLength + proof.byteLength
  }
  return { buffer: bytes.buffer, count: jobs.length }
}

let pool: VerifyPool | undefined

/** How many distinct signatures `jobs` carry, counted up to {@link MIN_PARALLEL}. */
function distinctSignatures(jobs: readonly SignatureJob[]): number {
  if (jobs.length < MIN_PARALLEL) return jobs.length
  const seen = new Set<string>()
  for (const { signature } of jobs) {
    seen.add(Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength).toString('base64'))
    if (seen.size >= MIN_PARALLEL) break
  }
  return seen.size
}

/**
 * Verifies many Ed25519 signatures on the process's verification workers (one per core). Returns one verdict per job,
 * in order. Jobs of fewer than 64 distinct signatures, and jobs whose key or signature has the wrong length for
 * Ed25519, are checked with `verifyHere` on this thread.
 */
export async function verifyInParallel<J extends SignatureJob>(
  jobs: readonly J[],
  verifyHere: (job: J) => boolean
): Promise<boolean[]> {
  if (distinctSignatures(jobs) < MIN_PARALLEL) return jobs.map(verifyHere)
  const fit = (job: J) =>
    job.spki.byteLength === SPKI_BYTES &&
    job.signature.byteLength === SIGNATURE_BYTES &&
    (job.proof?.byteLength ?? 0) < 0xffff
  const remote = jobs.filter(fit)
  pool ??= new VerifyPool()
  const verdicts = await pool.verify(remote, verifyHere as (job: SignatureJob) => boolean)
  if (remote.length === jobs.length) return verdicts
  let k = 0
  return jobs.map((job) => (fit(job) ? verdicts[k++] === true : verifyHere(job)))
}
