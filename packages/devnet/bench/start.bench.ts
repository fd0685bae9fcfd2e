/**
 * Devnet start-up time: anvil spawn + USDC (6 txs + mints) + Multicall3 + 3 registries, end to end.
 * Target (issue 2): under 3 s. Run: `pnpm --filter @betar/devnet bench`.
 */
import { startDevnet } from '../src/index.ts'

const RUNS = 5
const times: number[] = []
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now()
  const devnet = await startDevnet({ accounts: 10 })
  times.push(performance.now() - t0)
  await devnet.stop()
}
times.sort((a, b) => a - b)
const median = times[Math.floor(RUNS / 2)] ?? Number.NaN
console.log(
  `devnet start (10 funded accounts), ${RUNS} runs: median ${median.toFixed(0)} ms, min ${times[0]?.toFixed(0)} ms, max ${times.at(-1)?.toFixed(0)} ms (target < 3000 ms)`
)
if (median >= 3000) process.exitCode = 1
