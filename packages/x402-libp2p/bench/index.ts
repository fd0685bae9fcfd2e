import '../../../tools/polyfills.ts'
/**
 * Paid calls per second and latency: x402 over libp2p (2-trip and 1-trip, TCP and QUIC) against the official HTTP
 * x402 stack (`@x402/hono` + `@x402/fetch`), on loopback with a real devnet. Every paid call settles on-chain, and
 * both sides settle with the seller's own wallet (no facilitator service).
 *
 * Each measurement gets a fresh devnet and fresh nodes/servers: anvil answers more and more receipt queries with
 * "not yet" as its chain grows, so a shared chain would favour whatever is measured first.
 *
 * Targets: libp2p throughput ≥ 2× HTTP x402, 1-trip p50 ≤ 0.5× HTTP x402. Run: `pnpm bench` in this package.
 */
import { startDevnet } from '@betar/devnet'
import { startHttp } from './http.ts'
import { startLibp2p } from './libp2p.ts'
import { cpuMs, mean, percentile, round, runLoad, type Stack, type StackChain, table } from './stats.ts'

const WARMUP = 10
const CALLS = 200
const CONCURRENCY = 16
/** The whole run (10 devnets, ~2100 settlements, shutdown) must finish well inside 3 minutes. */
const WATCHDOG_MS = 170_000

const SCENARIOS: Array<{ name: string; start: (chain: StackChain) => Promise<Stack> }> = [
  { name: 'HTTP x402', start: (chain) => startHttp(chain) },
  { name: 'libp2p 2-trip tcp', start: (chain) => startLibp2p(chain, 'tcp', '2-trip') },
  { name: 'libp2p 2-trip quic', start: (chain) => startLibp2p(chain, 'quic', '2-trip') },
  { name: 'libp2p 1-trip tcp', start: (chain) => startLibp2p(chain, 'tcp', '1-trip') },
  { name: 'libp2p 1-trip quic', start: (chain) => startLibp2p(chain, 'quic', '1-trip') }
]

interface Measurement {
  callsPerSecond: number
  p50Ms: number
  p99Ms: number
  meanMs: number
  /** CPU per paid call: this process (buyer and seller) and anvil. */
  cpuMsPerCall: { node: number; anvil: number }
  /** Mean per paid call: phase timings (ms, meaningful at concurrency 1) and JSON-RPC requests by method. */
  profile: { ms: Record<string, number>; counts: Record<string, number> }
}

interface Result {
  name: string
  c1: Measurement
  c16: Measurement
}

const watchdog = setTimeout(() => {
  console.error(`bench: not done after ${WATCHDOG_MS / 1000} s, giving up`)
  process.exit(1)
}, WATCHDOG_MS)
watchdog.unref()

/** One measurement on a fresh devnet: warm-up, then `CALLS` paid calls at `concurrency`. */
async function measure(start: (chain: StackChain) => Promise<Stack>, concurrency: number): Promise<Measurement> {
  const devnet = await startDevnet({ accounts: 2 })
  let stack: Stack | undefined
  try {
    const [seller, payer] = devnet.accounts
    if (seller == null || payer == null) throw new Error('devnet has no accounts')
    stack = await start({ devnet, seller, payer })
    for (let i = 0; i < WARMUP; i++) await stack.call()
    const ready = stack
    ready.profile.reset()
    const cpu0 = cpuMs(devnet.anvil.process.pid)
    const run = await runLoad(CALLS, concurrency, () => ready.call())
    const cpu1 = cpuMs(devnet.anvil.process.pid)
    return {
      callsPerSecond: round(run.callsPerSecond),
      p50Ms: round(percentile(run.latenciesMs, 50), 2),
      p99Ms: round(percentile(run.latenciesMs, 99), 2),
      meanMs: round(mean(run.latenciesMs), 2),
      cpuMsPerCall: {
        node: round((cpu1.self - cpu0.self) / CALLS, 2),
        anvil: round((cpu1.other - cpu0.other) / CALLS, 2)
      },
      profile: ready.profile.perCall(CALLS)
    }
  } finally {
    await stack?.stop()
    await devnet.stop()
  }
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`

function report(results: Result[]): void {
  const http = results[0]
  if (http == null) return
  console.log(
    `\nx402 paid calls, loopback, devnet, local settlement (seller's wallet); ${CALLS} calls per measurement after ${WARMUP} warm-up, fresh devnet each; every call settled on-chain\n`
  )
  console.log(
    table(
      [
        'stack',
        'calls/s c=1',
        `calls/s c=${CONCURRENCY}`,
        'p50 ms c=1',
        'p99 ms c=1',
        `p50 ms c=${CONCURRENCY}`,
        'thr c=1 ×HTTP',
        `thr c=${CONCURRENCY} ×HTTP`,
        'p50 ×HTTP'
      ],
      results.map((r) => [
        r.name,
        r.c1.callsPerSecond.toFixed(1),
        r.c16.callsPerSecond.toFixed(1),
        r.c1.p50Ms.toFixed(2),
        r.c1.p99Ms.toFixed(2),
        r.c16.p50Ms.toFixed(2),
        ratio(r.c1.callsPerSecond, http.c1.callsPerSecond),
        ratio(r.c16.callsPerSecond, http.c16.callsPerSecond),
        ratio(r.c1.p50Ms, http.c1.p50Ms)
      ])
    )
  )

  const phases = [...new Set(results.flatMap((r) => Object.keys(r.c1.profile.ms)))]
  const rpcs = [...new Set(results.flatMap((r) => Object.keys(r.c1.profile.counts)))].sort()
  console.log('\nwhere a paid call goes (mean per call; phases and JSON-RPC at c=1, CPU at both)\n')
  console.log(
    table(
      ['', ...results.map((r) => r.name)],
      [
        ['latency (mean ms)', ...results.map((r) => r.c1.meanMs.toFixed(2))],
        ...phases.map((p) => [`  ${p}`, ...results.map((r) => r.c1.profile.ms[p]?.toFixed(2) ?? '-')]),
        [
          '  rest: transport, framing, pipeline',
          ...results.map((r) => (r.c1.meanMs - sum(Object.values(r.c1.profile.ms))).toFixed(2))
        ],
        ['JSON-RPC requests', ...results.map((r) => sum(Object.values(r.c1.profile.counts)).toFixed(2))],
        ...rpcs.map((m) => [`  ${m}`, ...results.map((r) => r.c1.profile.counts[m]?.toFixed(2) ?? '-')]),
        ['CPU ms node c=1', ...results.map((r) => r.c1.cpuMsPerCall.node.toFixed(2))],
        ['CPU ms anvil c=1', ...results.map((r) => r.c1.cpuMsPerCall.anvil.toFixed(2))],
        [`CPU ms node c=${CONCURRENCY}`, ...results.map((r) => r.c16.cpuMsPerCall.node.toFixed(2))],
        [`CPU ms anvil c=${CONCURRENCY}`, ...results.map((r) => r.c16.cpuMsPerCall.anvil.toFixed(2))]
      ]
    )
  )

  const libp2p = results.slice(1)
  const best = libp2p.reduce((a, b) => (b.c16.callsPerSecond > a.c16.callsPerSecond ? b : a))
  const thr = best.c16.callsPerSecond / http.c16.callsPerSecond
  console.log(
    `\nthroughput ratio at c=${CONCURRENCY} (best: ${best.name}): ${thr.toFixed(2)}× HTTP x402 — target ≥ 2×: ${thr >= 2 ? 'met' : 'MISSED'}`
  )
  for (const r of libp2p.filter((r) => r.name.includes('1-trip'))) {
    const p50 = r.c1.p50Ms / http.c1.p50Ms
    console.log(`p50 ratio (${r.name}): ${p50.toFixed(2)}× HTTP x402 — target ≤ 0.5×: ${p50 <= 0.5 ? 'met' : 'MISSED'}`)
  }
  const ratios = (f: (r: Result) => number) => Object.fromEntries(libp2p.map((r) => [r.name, round(f(r) / f(http), 2)]))
  console.log(
    `BENCH_JSON ${JSON.stringify({
      calls: CALLS,
      warmup: WARMUP,
      concurrency: CONCURRENCY,
      results,
      ratios: {
        throughputC1: ratios((r) => r.c1.callsPerSecond),
        [`throughputC${CONCURRENCY}`]: ratios((r) => r.c16.callsPerSecond),
        p50C1: ratios((r) => r.c1.p50Ms)
      }
    })}`
  )
}

try {
  const started = performance.now()
  const results: Result[] = []
  // BENCH_ONLY=<substring> measures only the matching stacks (e.g. for a CPU profile of one of them).
  const only = process.env.BENCH_ONLY
  for (const scenario of SCENARIOS.filter((s, i) => i === 0 || only == null || s.name.includes(only))) {
    const c1 = await measure(scenario.start, 1)
    const c16 = await measure(scenario.start, CONCURRENCY)
    results.push({ name: scenario.name, c1, c16 })
    console.log(
      `  ${scenario.name}: c=1 ${c1.callsPerSecond} calls/s (p50 ${c1.p50Ms} ms), c=${CONCURRENCY} ${c16.callsPerSecond} calls/s`
    )
  }
  report(results)
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
} catch (err) {
  console.error('bench failed:', err)
  process.exitCode = 1
}
