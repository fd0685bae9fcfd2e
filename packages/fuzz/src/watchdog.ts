import { Worker } from 'node:worker_threads'

/** Largest input the watchdog can save; longer ones are saved cut to this. */
const CAPACITY = 4 * 1024 * 1024

const WORKER = `
const { workerData } = require('node:worker_threads')
const { writeFileSync, mkdirSync } = require('node:fs')
const { createHash } = require('node:crypto')
const { join } = require('node:path')
const { state, data, dir, limitMs } = workerData
const meta = new Int32Array(state)
let seen = -1
let since = Date.now()
setInterval(() => {
  const count = Atomics.load(meta, 0)
  if (count !== seen) { seen = count; since = Date.now(); return }
  if (Atomics.load(meta, 2) === 0 || Date.now() - since < limitMs) return
  const input = new Uint8Array(data, 0, Atomics.load(meta, 1)).slice()
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'hang-' + createHash('sha256').update(input).digest('hex').slice(0, 16) + '.bin')
  writeFileSync(file, input)
  process.stderr.write('fuzz watchdog: no progress for ' + limitMs + ' ms; input saved to ' + file + '\\n')
  process.kill(process.pid, 'SIGKILL')
}, 250)
`

/**
 * Catches an execution that never returns (a synchronous loop that a time bound measured after the fact would never
 * see end): the input of each execution is copied to shared memory, and a worker thread that sees no progress for
 * `limitMs` saves it as a `hang-*.bin` finding and kills the process.
 */
export class Watchdog {
  private readonly meta: Int32Array
  private readonly data: Uint8Array
  private readonly worker: Worker

  constructor(dir: string, limitMs: number) {
    const state = new SharedArrayBuffer(12)
    const data = new SharedArrayBuffer(CAPACITY)
    this.meta = new Int32Array(state)
    this.data = new Uint8Array(data)
    this.worker = new Worker(WORKER, { eval: true, workerData: { state, data, dir, limitMs } })
    this.worker.unref()
  }

  /** Records the input about to run. */
  arm(input: Uint8Array): void {
    const n = Math.min(input.byteLength, CAPACITY)
    this.data.set(n === input.byteLength ? input : input.subarray(0, n))
    Atomics.store(this.meta, 1, n)
    Atomics.store(this.meta, 2, 1)
    Atomics.add(this.meta, 0, 1)
  }

  /** Between executions (heap samples, set-up): nothing runs that could hang on an input. */
  disarm(): void {
    Atomics.store(this.meta, 2, 0)
    Atomics.add(this.meta, 0, 1)
  }

  async stop(): Promise<void> {
    await this.worker.terminate()
  }
}
