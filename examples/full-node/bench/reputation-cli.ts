/**
 * Wall time of `betar reputation <agentId>` (a separate process, run from source through tsx like the CLI tests), on
 * real nodes and the devnet:
 *
 * - `data-uri`: two buyers rated with the default storage and went offline; cold (fresh data dir) and warm runs;
 * - `ipfs-cached`: two buyers rated with `feedbackStorage: 'node'`; a first run verifies their files while they are
 *   online, then they go offline and the same data dir scores from its proof cache;
 * - `ipfs-offline`: the same agent from a fresh data dir with the holders offline (one `--load-timeout` in all).
 *
 * Target (issue 11): under 2 s from the local index. Prints a `BENCH_JSON` line. Run: `pnpm --filter @betar/full-node bench`
 * (`BETAR_BENCH_BIN=dist/cli/bin.js` after a build times the shipped JavaScript instead of tsx).
 */
import { execFile } from 'node:child_process'
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BetarNode, buyService, sellAgent } from '@betar/node'
import { nodeOn, startDevnet, textStatsAgent } from '../../../packages/node/test/fixtures.ts'
import { reputationCommand } from '../src/cli/commands/reputation.ts'
import { cliRunner } from '../test/cli-harness.ts'

const PRICE = 250_000n

/** Runs the CLI from a JavaScript `bin` with `BETAR_DEVNET` set. */
function runJs(
  bin: string,
  args: string[],
  devnetFile: string
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, BETAR_DEVNET: devnetFile } },
      (error, stdout, stderr) =>
        resolve({ code: error == null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr })
    )
  })
}

/** Runs `fn` with stdout and stderr writes dropped (the command prints its result). */
async function silently(fn: () => Promise<unknown>): Promise<void> {
  const out = process.stdout.write
  const err = process.stderr.write
  process.stdout.write = (() => true) as typeof out
  process.stderr.write = (() => true) as typeof err
  try {
    await fn()
  } finally {
    process.stdout.write = out
    process.stderr.write = err
  }
}
const devnet = await startDevnet({ accounts: 6 })
const dir = await mkdtemp(join(tmpdir(), 'betar-bench-reputation-'))
const nodes: BetarNode[] = []
try {
  const devnetFile = join(dir, 'devnet.json')
  await writeFile(devnetFile, JSON.stringify(devnet.toJSON()))
  // BETAR_BENCH_BIN=<bundled or built bin.js> times the CLI as plain JavaScript instead of TypeScript through tsx.
  const bin = process.env.BETAR_BENCH_BIN
  const cli = bin == null ? cliRunner(devnetFile).cli : (args: string[]) => runJs(bin, args, devnetFile)

  const seller = await nodeOn(devnet, 0)
  nodes.push(seller)
  const bootstrap = seller.multiaddrs().map(String)
  const sold = await sellAgent(seller, textStatsAgent)
  const agentId = sold.registration.agentId.toString()

  /**
   * One `betar reputation` process: its wall ms and the starred summary it printed; then the command's own time in this
   * process (`inProcessMs`: no Node/tsx start-up or module loading), on a copy of the same state.
   */
  const time = async (dataDir: string, extra: string[] = []) => {
    await mkdir(dataDir, { recursive: true })
    await cp(dataDir, `${dataDir}-copy`, { recursive: true })
    const t0 = performance.now()
    const run = await cli(['reputation', agentId, '--json', '--data-dir', dataDir, ...extra])
    const ms = Math.round(performance.now() - t0)
    if (run.code !== 0) throw new Error(`betar reputation failed: ${run.stderr}`)
    const { summary } = JSON.parse(run.stdout) as { summary: { starred?: { count: number; unverified: number } } }
    const argv = [agentId, '--json', '--data-dir', `${dataDir}-copy`, '--devnet', devnetFile, ...extra]
    const t1 = performance.now()
    await silently(() => reputationCommand.run(argv))
    const inProcessMs = Math.round(performance.now() - t1)
    await rm(`${dataDir}-copy`, { recursive: true, force: true })
    return { ms, inProcessMs, count: summary.starred?.count ?? 0, unverified: summary.starred?.unverified ?? 0 }
  }
  const buyers = async (storage: 'data-uri' | 'node', accounts: number[]) => {
    const list = await Promise.all(accounts.map((i) => nodeOn(devnet, i, { bootstrap })))
    for (const b of list)
      await buyService(b, 'text-analysis', 'Hello there.', { maxPrice: PRICE, feedbackStorage: storage })
    return list
  }

  const results: Record<string, Awaited<ReturnType<typeof time>>> = {}
  // Loads the command's modules once, so in-process figures leave module loading out.
  await silently(() =>
    reputationCommand.run([agentId, '--json', '--data-dir', join(dir, 'warmup'), '--devnet', devnetFile])
  )
  const dataUriBuyers = await buyers('data-uri', [1, 2])
  for (const b of dataUriBuyers) await b.stop()
  results['data-uri cold'] = await time(join(dir, 'a'))
  results['data-uri warm'] = await time(join(dir, 'a'))

  const ipfsBuyers = await buyers('node', [3, 4])
  results['ipfs online (verifies, caches)'] = await time(
    join(dir, 'b'),
    ipfsBuyers.flatMap((b) => ['--bootstrap', b.multiaddrs()[0]?.toString() ?? ''])
  )
  for (const b of ipfsBuyers) await b.stop()
  results['ipfs-cached, holders offline'] = await time(join(dir, 'b'))
  results['ipfs-offline, fresh data dir'] = await time(join(dir, 'c'))

  for (const [name, r] of Object.entries(results)) {
    console.log(
      `${name.padEnd(32)} process ${String(r.ms).padStart(5)} ms, command ${String(r.inProcessMs).padStart(5)} ms: counted ${r.count}, unverified ${r.unverified}`
    )
  }
  console.log(`BENCH_JSON ${JSON.stringify({ bench: 'betar-reputation-cli', results })}`)
} finally {
  for (const n of nodes) await n.stop()
  await devnet.stop()
  await rm(dir, { recursive: true, force: true })
}
