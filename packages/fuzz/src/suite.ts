import { describe, expect, it } from 'vitest'
import { findingsDir, savedInputs } from './findings.ts'
import { replay } from './replay.ts'
import { FLAT_HEAP_BYTES } from './report.ts'
import { runTarget } from './run.ts'
import type { FuzzTarget } from './target.ts'

/** Executions of the smoke run in the normal test suite, by cost: a second or two per target on one core. */
export const SMOKE_EXECUTIONS = { cheap: 20_000, heavy: 2_000 } as const

/** Options of {@link fuzzSuite}. */
export interface FuzzSuiteOptions {
  /** The package's folder (its findings are under `test/fixtures/fuzz/<target>/`). */
  packageDir: string
  /** Smoke executions per target (by cost, or per target name). */
  executions?: Partial<Record<'cheap' | 'heavy' | string, number>>
  /** Seed of every smoke run. @default 13 */
  seed?: number
  /**
   * Open findings, by a part of their detail, that do not fail the tests until their fix lands (they still count in
   * `pnpm fuzz`'s table). Each one must be named in docs/fuzzing.md.
   */
  known?: readonly string[]
}

/**
 * The fuzz tests of a package: every saved finding replayed (typed error, or accepted and valid, within the time
 * bound), and a short smoke run per target with a fixed seed that must find nothing and keep the heap flat.
 */
export function fuzzSuite(targets: readonly FuzzTarget[], options: FuzzSuiteOptions): void {
  const open = (detail: string): boolean => (options.known ?? []).some((k) => detail.includes(k))
  for (const target of targets) {
    describe(`fuzz ${target.name}`, () => {
      const saved = savedInputs(findingsDir(options.packageDir, target.name))
      if (saved.length > 0) {
        it(`replays ${saved.length} saved inputs`, async () => {
          await target.seeds() // sets the target up
          const failures: string[] = []
          for (const { name, input } of saved) {
            const problem = await replay(target, input)
            if (problem != null && !open(problem)) failures.push(`${name}: ${problem}`)
          }
          expect(failures).toEqual([])
        })
      }

      it('smoke: finds nothing and keeps the heap flat', async () => {
        const executions =
          options.executions?.[target.name] ?? options.executions?.[target.cost] ?? SMOKE_EXECUTIONS[target.cost]
        const report = await runTarget(target, { executions, seed: options.seed ?? 13 })
        expect(
          report.findings.filter((f) => !open(f.detail)).map((f) => `${f.kind}: ${f.detail}`),
          `untyped ${report.untyped}, hangs ${report.hangs}, accepted-invalid ${report.acceptedInvalid} (known included)`
        ).toEqual([])
        expect(report.executions).toBe(executions)
        expect(report.heapDelta).toBeLessThan(FLAT_HEAP_BYTES)
      })
    })
  }
}
