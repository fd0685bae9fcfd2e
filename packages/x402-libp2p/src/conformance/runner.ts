import type { ConformanceCase } from './case.ts'
import { ALL_CASES } from './cases/index.ts'
import { CaseContext } from './context.ts'
import { CaseSkipped, ConformanceFailure } from './errors.ts'
import { describeError } from './exchange.ts'
import type {
  ConformanceCaseInfo,
  ConformanceCaseResult,
  ConformanceOptions,
  ConformanceReport,
  ConformanceTarget
} from './types.ts'

const DEFAULT_CASE_TIMEOUT_MS = 30_000

/** Identity of every case the suite runs, in run order. */
export const CONFORMANCE_CASES: ReadonlyArray<ConformanceCaseInfo> = Object.freeze(
  ALL_CASES.map(({ id, title, specRef }) => Object.freeze({ id, title, specRef }))
)

/** Rejects with the signal's reason when it aborts; otherwise settles as `promise` does. */
function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  promise.catch(() => {}) // a case cut off by its timeout may still reject later
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

async function runCase(
  testCase: ConformanceCase,
  target: ConformanceTarget,
  options: ConformanceOptions
): Promise<ConformanceCaseResult> {
  const info = { id: testCase.id, title: testCase.title, specRef: testCase.specRef }
  const timeoutMs = options.caseTimeoutMs ?? DEFAULT_CASE_TIMEOUT_MS
  const timeout = new AbortController()
  const timer = setTimeout(
    () => timeout.abort(new ConformanceFailure(`the case did not finish within ${timeoutMs} ms`)),
    timeoutMs
  )
  const signal = options.signal != null ? AbortSignal.any([timeout.signal, options.signal]) : timeout.signal
  const ctx = new CaseContext(target, options, signal)
  const start = performance.now()
  const elapsed = (): number => Math.round(performance.now() - start)
  try {
    await raceSignal(testCase.run(ctx), signal)
    return { ...info, passed: true, durationMs: elapsed() }
  } catch (err) {
    if (options.signal?.aborted === true) throw options.signal.reason
    if (err instanceof CaseSkipped) return { ...info, passed: false, skipped: err.message, durationMs: elapsed() }
    const error = err instanceof ConformanceFailure ? err.message : `unexpected ${describeError(err)}`
    return { ...info, passed: false, error, durationMs: elapsed() }
  } finally {
    clearTimeout(timer)
    ctx.dispose()
  }
}

/**
 * Runs the normative cases of the spec against an implementation of `/x402/libp2p/2.0.0`, one after another, over
 * raw streams from `options.node`, and reports pass/fail per case. Never throws for a failing case; throws only when
 * `options.signal` aborts.
 *
 * Cost and footprint: the happy paid cases spend `target.paid.amount` of `options.payer`'s tokens each (eight calls in
 * all), plus the failing resource's price once; about 30 challenges are requested from the dialer's peer id, so a
 * server limiting unpaid challenges per peer (this library: 64 per challenge lifetime) may need a fresh dialer
 * identity between back-to-back runs. Cases run one after another; the robustness cases each wait up to the frame
 * timeout.
 *
 * @example
 * ```ts
 * import { runConformance } from '@betar/x402-libp2p/conformance'
 *
 * const report = await runConformance(
 *   { peer: multiaddr('/ip4/…/tcp/…/p2p/…'), paid: { resource: 'echo', amount: 10_000n, payTo, asset: usdc } },
 *   { node, payer: privateKeyToAccount(key), publicClient }
 * )
 * for (const r of report.results) if (!r.passed && r.skipped == null) console.error(r.id, r.error)
 * ```
 */
export async function runConformance(
  target: ConformanceTarget,
  options: ConformanceOptions
): Promise<ConformanceReport> {
  const selected = ALL_CASES.filter((c) => options.filter == null || c.id.search(options.filter) !== -1)
  const results: ConformanceCaseResult[] = []
  for (const testCase of selected) {
    options.signal?.throwIfAborted()
    results.push(await runCase(testCase, target, options))
  }
  return {
    passed: results.filter((r) => r.passed).length,
    failed: results.filter((r) => !r.passed && r.skipped == null).length,
    skipped: results.filter((r) => r.skipped != null).length,
    results
  }
}
