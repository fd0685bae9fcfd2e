import type { ConformanceCase } from '../case.ts'
import { executionCases } from './execution.ts'
import { flowCases } from './flows.ts'
import { invalidMessageCases } from './invalid-message.ts'
import { nonceCases } from './nonces.ts'
import { recoveryCases } from './recovery.ts'
import { requirementCases } from './requirements.ts'
import { robustnessCases } from './robustness.ts'
import { sessionCases } from './sessions.ts'
import { verificationCases } from './verification.ts'

/**
 * Every case, in run order: happy flows, sessions (spec §2.1; skipped for a target without them), malformed frames, resource and payload checks, nonces, signature and
 * window checks, handler failure, recovery from infrastructure faults, then robustness (ending with a normal paid call
 * to show the server survived).
 */
export const ALL_CASES: readonly ConformanceCase[] = [
  ...flowCases,
  ...sessionCases,
  ...invalidMessageCases,
  ...requirementCases,
  ...nonceCases,
  ...verificationCases,
  ...executionCases,
  ...recoveryCases,
  ...robustnessCases
]
