import type { CaseContext } from './context.ts'
import type { ConformanceCaseInfo } from './types.ts'

/** A normative case: its identity and the scenario it runs against the target. Throws to fail, skips via `ctx.skip`. */
export interface ConformanceCase extends ConformanceCaseInfo {
  run(ctx: CaseContext): Promise<void>
}

/** Declares a case (identity plus scenario). */
export function defineCase(info: ConformanceCaseInfo, run: (ctx: CaseContext) => Promise<void>): ConformanceCase {
  return { ...info, run }
}
