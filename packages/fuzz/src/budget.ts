import type { FuzzTarget } from './target.ts'

/** Executions per target of a long run, by cost (issue 13's acceptance). */
export const LONG_RUN_EXECUTIONS = { cheap: 1_000_000, heavy: 250_000 } as const

/** A run's budget from the environment: `FUZZ_EXECUTIONS` (else by cost), `FUZZ_SECONDS`, `FUZZ_SEED`. */
export function budgetFromEnv(
  target: FuzzTarget,
  env: NodeJS.ProcessEnv = process.env
): { executions: number; seconds?: number; seed: number } {
  const number = (name: string): number | undefined => {
    const text = env[name]
    if (text == null || text === '') return undefined
    const n = Number(text)
    if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${name} must be a positive number, got "${text}"`)
    return n
  }
  const seconds = number('FUZZ_SECONDS')
  return {
    executions: number('FUZZ_EXECUTIONS') ?? LONG_RUN_EXECUTIONS[target.cost],
    ...(seconds != null ? { seconds } : {}),
    seed: number('FUZZ_SEED') ?? 1
  }
}
