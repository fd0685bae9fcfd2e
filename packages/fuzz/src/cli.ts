/**
 * Runs the fuzz targets of one package: `node --expose-gc --import tsx --conditions=@betar/source cli.ts
 * <package>/test/fuzz/targets.ts [--list] [target…]`. Prints each target's report as one `FUZZ_REPORT <json>` line on
 * stdout (progress and findings on stderr) and saves every finding under `<package>/test/fixtures/fuzz/<target>/`.
 * The repository's `pnpm fuzz` (scripts/fuzz.mjs) starts one of these per target and prints the table.
 */
import { dirname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { budgetFromEnv } from './budget.ts'
import { findingsDir, saveFinding } from './findings.ts'
import { runTarget } from './run.ts'
import type { FuzzTarget } from './target.ts'
import { Watchdog } from './watchdog.ts'

/** Time without progress after which the watchdog saves the input and kills the run. */
const WATCHDOG_MS = 30_000

async function main(): Promise<void> {
  const [file, ...rest] = process.argv.slice(2)
  if (file == null) throw new Error('usage: cli.ts <package>/test/fuzz/targets.ts [--list] [target…]')
  const path = resolve(file)
  const packageDir = resolve(dirname(path), '..', '..')
  const { targets } = (await import(pathToFileURL(path).href)) as { targets: FuzzTarget[] }
  if (rest.includes('--list')) {
    process.stdout.write(`${JSON.stringify(targets.map((t) => ({ name: t.name, cost: t.cost })))}\n`)
    return
  }
  const wanted = rest.filter((a) => !a.startsWith('--'))
  for (const target of targets) {
    if (wanted.length > 0 && !wanted.includes(target.name)) continue
    const dir = findingsDir(packageDir, target.name)
    const watchdog = new Watchdog(dir, WATCHDOG_MS)
    const budget = budgetFromEnv(target)
    process.stderr.write(`fuzz ${target.name}: ${budget.executions} executions, seed ${budget.seed}\n`)
    try {
      const report = await runTarget(target, {
        ...budget,
        watchdog,
        onFinding: (f) => process.stderr.write(`fuzz ${target.name}: ${f.kind} ${f.detail} → ${saveFinding(dir, f)}\n`)
      })
      const { findings, ...row } = report
      process.stdout.write(`FUZZ_REPORT ${JSON.stringify({ ...row, findings: findings.length })}\n`)
    } finally {
      await watchdog.stop()
      await target.close?.()
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exit(1)
  }
)
