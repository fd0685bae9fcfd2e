import { candidatesFor } from './candidates.ts'
import type { WorkflowPlan } from './definition.ts'
import { NoSellerError, StepInputError } from './errors.ts'
import { resolveTemplate, type TemplateContext } from './template.ts'
import type { ListingSource, WorkflowRecord } from './types.ts'

/** What the checks before a run need from it. */
export interface PreflightDeps {
  market: ListingSource
  self?: string | undefined
  asset: { address: string }
  discoveryTimeoutMs: number
}

/** The lower of two amounts, never below 0. */
export function min(a: bigint, b: bigint): bigint {
  const m = a < b ? a : b
  return m > 0n ? m : 0n
}

/**
 * Asks the network (the marketplace's DHT search, when it has one) for sellers of the capabilities of steps not
 * started yet, so that the listings they publish are known before the steps are planned. Best effort, bounded.
 */
export async function discoverSellers(
  plan: WorkflowPlan,
  record: WorkflowRecord,
  deps: PreflightDeps,
  cancel: AbortSignal
): Promise<void> {
  const { market } = deps
  if (market.findSellers == null || deps.discoveryTimeoutMs <= 0) return
  const wanted = new Map<string, bigint>()
  for (const step of plan.steps) {
    if (step.capability == null || record.steps[step.id]?.status !== 'pending') continue
    const max = wanted.get(step.capability) ?? 0n
    wanted.set(step.capability, step.maxPrice > max ? step.maxPrice : max)
  }
  const signal = AbortSignal.any([cancel, AbortSignal.timeout(deps.discoveryTimeoutMs)])
  await Promise.allSettled(
    [...wanted].map(([capability, maxPrice]) => market.findSellers!(capability, { maxPrice, signal }))
  )
}

/**
 * Before anything is paid: every step not started yet must have a listing within its cap, and a step whose input
 * reads only the workflow input must have one whose `inputSchema` accepts it. Marks the steps that fail and throws
 * the first failure ({@link NoSellerError}, {@link StepInputError}).
 */
export function preflight(
  plan: WorkflowPlan,
  record: WorkflowRecord,
  context: TemplateContext,
  deps: PreflightDeps
): void {
  const failures: Array<NoSellerError | StepInputError> = []
  for (const step of plan.steps) {
    const rec = record.steps[step.id]!
    if (rec.status !== 'pending' || rec.attempts.length > 0) continue
    let input: { value: unknown } | undefined
    if (step.dependsOn.length === 0) {
      try {
        input = { value: resolveTemplate(step.input, context) }
      } catch (err) {
        failures.push(new StepInputError(step.id, [(err as Error).message]))
        continue
      }
    }
    const { listings, skipped } = candidatesFor(step, deps.market, {
      allowance: min(step.maxPrice, BigInt(record.budget)),
      exclude: new Set(),
      self: deps.self,
      asset: deps.asset.address,
      input
    })
    if (listings.length > 0) continue
    rec.skipped = skipped
    const schemaOnly = skipped.length > 0 && skipped.every((s) => s.includes('refused by its schema'))
    failures.push(
      schemaOnly
        ? new StepInputError(step.id, skipped)
        : new NoSellerError(
            step.id,
            `no listing within ${step.maxPrice}${skipped.length > 0 ? `: ${skipped.join('; ')}` : ''}`
          )
    )
  }
  for (const f of failures) {
    const rec = record.steps[f.stepId]!
    rec.status = 'failed'
    rec.error = `${f.name}: ${f.message}`
  }
  if (failures[0] != null) throw failures[0]
}
