import { settledHeap } from './heap.ts'
import { InputSource } from './inputs.ts'
import { Prng } from './prng.ts'
import type { Finding, FindingKind, FuzzTarget } from './target.ts'
import type { Watchdog } from './watchdog.ts'

/** Budget and hooks of one run of one target. */
export interface RunOptions {
  /** Seed of the input generator. @default 1 */
  seed?: number
  /** Stop after this many executions. */
  executions?: number
  /** Stop after this many seconds (whichever budget ends first). */
  seconds?: number
  /** Interval between heap samples. @default 2000 */
  heapSampleMs?: number
  /** Called for every finding (up to 3 inputs per distinct error, 50 in all). */
  onFinding?: (finding: Finding) => void
  /** Records each input for the hang watchdog. */
  watchdog?: Watchdog
}

/** The outcome of one run: the row of the fuzz table. */
export interface FuzzReport {
  target: string
  executions: number
  /** Inputs the decoder accepted (then re-checked). */
  accepted: number
  /** Inputs refused with the package's typed error. */
  typed: number
  untyped: number
  hangs: number
  acceptedInvalid: number
  /** Heap in use after GC at the end, minus the same after warm-up (bytes). */
  heapDelta: number
  /** Largest heap sample minus the warm-up sample (bytes). */
  heapPeak: number
  slowestMs: number
  seconds: number
  findings: Finding[]
}

const MAX_FINDINGS = 50
const PER_SIGNATURE = 3

/** How long one more run of `input` takes (its outcome was already counted). */
async function timed(target: FuzzTarget, input: Uint8Array): Promise<number> {
  const t0 = performance.now()
  try {
    const out = target.run(input)
    if (out instanceof Promise) await out
  } catch {
    // counted the first time
  }
  return performance.now() - t0
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message.split('\n')[0]?.slice(0, 160) ?? ''}`
  return `non-error thrown: ${String(err).slice(0, 160)}`
}

/**
 * Runs one target until its budget is spent: each input is generated or mutated from the seeds, decoded, and
 * classified — accepted (then independently re-checked), refused with the typed error, refused with anything else
 * (`untyped`), or slower than the target's time bound twice in a row (`hang`). The heap is sampled after GC every
 * `heapSampleMs`.
 */
export async function runTarget(target: FuzzTarget, options: RunOptions = {}): Promise<FuzzReport> {
  const r = new Prng(options.seed ?? 1)
  const seeds = await target.seeds()
  const source = new InputSource(target, seeds)
  const bound = target.timeBoundMs ?? 500
  const maxExecutions = options.executions ?? Number.POSITIVE_INFINITY
  const deadline = options.seconds != null ? performance.now() + options.seconds * 1000 : Number.POSITIVE_INFINITY
  const sampleEvery = options.heapSampleMs ?? 2000
  const report: FuzzReport = {
    target: target.name,
    executions: 0,
    accepted: 0,
    typed: 0,
    untyped: 0,
    hangs: 0,
    acceptedInvalid: 0,
    heapDelta: 0,
    heapPeak: 0,
    slowestMs: 0,
    seconds: 0,
    findings: []
  }
  const signatures = new Map<string, number>()
  const found = (kind: FindingKind, input: Uint8Array, detail: string): void => {
    const signature = `${kind} ${detail.replace(/[0-9]+/g, 'N')}`
    const seen = signatures.get(signature) ?? 0
    signatures.set(signature, seen + 1)
    if (seen >= PER_SIGNATURE || report.findings.length >= MAX_FINDINGS) return
    const finding = { kind, input: input.slice(), detail }
    report.findings.push(finding)
    options.onFinding?.(finding)
  }

  const sample = async (): Promise<number> => {
    options.watchdog?.disarm()
    await target.reset?.()
    return settledHeap()
  }
  const started = performance.now()
  let baseline: number | undefined
  let nextSample = started + Math.min(1000, sampleEvery)
  // the warm-up sample comes after a tenth of an execution budget, or after the first interval (whichever is first)
  const warmup = Number.isFinite(maxExecutions) ? Math.max(1, Math.floor(maxExecutions / 10)) : -1
  while (report.executions < maxExecutions && performance.now() < deadline) {
    const input = source.next(r)
    options.watchdog?.arm(input)
    const t0 = performance.now()
    let accepted = false
    let output: unknown
    try {
      output = target.run(input)
      if (output instanceof Promise) output = await output
      accepted = true
    } catch (err) {
      if (target.isTyped(err)) report.typed++
      else {
        report.untyped++
        found('untyped', input, describe(err))
      }
    }
    let ms = performance.now() - t0
    report.executions++
    if (ms > bound) {
      // A real hang repeats; a pause of the process (GC, a busy machine) does not: time the input once more.
      ms = Math.min(ms, await timed(target, input))
      if (ms > bound) {
        report.hangs++
        found('hang', input, `${ms.toFixed(0)} ms (bound ${bound} ms)`)
      }
    }
    if (ms > report.slowestMs) report.slowestMs = ms
    if (accepted) {
      report.accepted++
      source.accepted(r, input)
      let problem: string | undefined
      try {
        problem = await target.check?.(input, output)
      } catch (err) {
        problem = `check threw ${describe(err)}`
      }
      if (problem != null) {
        report.acceptedInvalid++
        found('accepted-invalid', input, problem)
      }
    }
    if (report.executions === warmup || performance.now() >= nextSample) {
      const heap = await sample()
      if (baseline == null) baseline = heap
      else report.heapPeak = Math.max(report.heapPeak, heap - baseline)
      nextSample = performance.now() + sampleEvery
    }
  }
  const end = await sample()
  report.heapDelta = baseline == null ? 0 : end - baseline
  report.heapPeak = Math.max(report.heapPeak, report.heapDelta)
  report.seconds = (performance.now() - started) / 1000
  return report
}
