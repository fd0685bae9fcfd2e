import { Worker } from 'node:worker_threads'
import * as Y from 'yjs'

/** One Ed25519 check: SPKI DER public key, signed bytes, signature. */
export interface SignatureJob {
  spki: Uint8Array
  data: Uint8Array
  signature: Uint8Array
}

/** Below this many signatures a worker round trip is not worth it. */
const MIN_PARALLEL = 64

// The worker only runs node:crypto's Ed25519 verify; it is inlined so the package ships no extra entry point.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { createPublicKey, verify } = require('node:crypto')
parentPort.on('message', ({ id, jobs }) => {
  const keys = new Map()
  const results = jobs.map(({ spki, data, signature }) => {
    const hex = Buffer.from(spki).toString('hex')
    let key = keys.get(hex)
    if (key === undefined) { key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }); keys.set(hex, key) }
    try { return verify(null, data, key, signature) } catch { return false }
  })
  parentPort.postMessage({ id, results })
})
`

let worker: Worker | undefined
let nextId = 0
const pending = new Map<number, (results: boolean[]) => void>()

function getWorker(): Worker {
  if (worker == null) {
    worker = new Worker(WORKER_SOURCE, { eval: true })
    worker.unref()
    worker.on('message', ({ id, results }: { id: number; results: boolean[] }) => {
      pending.get(id)?.(results)
      pending.delete(id)
    })
    worker.on('error', () => {
      for (const resolve of pending.values()) resolve([])
      pending.clear()
      worker = undefined
    })
  }
  return worker
}

/**
 * Verifies many Ed25519 signatures using two cores: the second half goes to a worker thread while this thread checks
 * the first. A late joiner's sync carries one signature per listing (10,000 → ≈ 0.7 s on one core of the reference
 * machine), so this halves the dominant cost. Returns one verdict per job, in order.
 */
export async function verifyInParallel(
  jobs: SignatureJob[],
  verifyHere: (job: SignatureJob) => boolean
): Promise<boolean[]> {
  if (jobs.length < MIN_PARALLEL) return jobs.map(verifyHere)
  const split = Math.floor(jobs.length / 2)
  const remote = jobs.slice(split)
  const id = nextId++
  const fromWorker = new Promise<boolean[]>((resolve) => {
    pending.set(id, resolve)
    getWorker().postMessage({ id, jobs: remote })
  })
  const local = jobs.slice(0, split).map(verifyHere)
  let others = await fromWorker
  if (others.length !== remote.length) others = remote.map(verifyHere) // the worker died: do it here
  return [...local, ...others]
}

/** The signed binary entries of an update (what {@link verifyInParallel} is fed with before validation). */
export function binaryEntries(update: Uint8Array): Uint8Array[] {
  try {
    return Y.decodeUpdate(update)
      .structs.filter((s): s is Y.Item => s instanceof Y.Item && s.content instanceof Y.ContentBinary)
      .map((item) => (item.content as Y.ContentBinary).content)
  } catch {
    return []
  }
}
