import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_MAX_SELLERS,
  DEFAULT_STEP_TIMEOUT_MS,
  MAX_AMOUNT,
  MAX_ATTEMPTS_PER_SELLER,
  MAX_DEFINITION_BYTES,
  MAX_ID_LENGTH,
  MAX_SELLERS_PER_STEP,
  MAX_STEPS,
  MAX_TEMPLATE_DEPTH
} from './constants.ts'
import { WorkflowCycleError, WorkflowDefinitionError } from './errors.ts'
import { JsonPointerError } from './pointer.ts'
import { depthOf, templateRefs } from './template.ts'

const id = z.string().regex(new RegExp(`^[A-Za-z0-9_-]{1,${MAX_ID_LENGTH}}$`), 'id of 1–64 [A-Za-z0-9_-]')
/** Atomic token units: a decimal string, a safe integer or a bigint. */
const amount = z
  .union([
    z.string().regex(/^(0|[1-9][0-9]{0,39})$/, 'atomic units as a decimal integer'),
    z.number().int(),
    z.bigint()
  ])
  .transform((v, ctx) => {
    const n = BigInt(v)
    if (n < 0n || n > MAX_AMOUNT) {
      ctx.addIssue({ code: 'custom', message: 'amount out of range' })
      return z.NEVER
    }
    return n
  })

const StepSchema = z
  .strictObject({
    id,
    /** A capability tag: the step buys from the best listing offering it. */
    capability: z
      .string()
      .regex(/^[a-z0-9._-]{1,64}$/)
      .optional(),
    /** A specific listing, `<seller peer id>/<listing id>` (its price still has to fit the cap). */
    listing: z.string().min(3).max(200).optional(),
    /** Input template (see {@link Template}). @default the workflow input, `{ "$ref": "/input" }` */
    input: z.unknown().optional(),
    /** Most this step may pay, in atomic units. */
    maxPrice: amount,
    /** Steps that must complete first (besides those its input reads). */
    after: z.array(id).max(MAX_STEPS).optional(),
    retry: z
      .strictObject({
        /** Sellers tried in turn, best first (1 = no fallback). @default 3 */
        maxSellers: z.number().int().min(1).max(MAX_SELLERS_PER_STEP).optional(),
        /** Attempts on one seller when a failure left nothing paid and may pass (unreachable, busy). @default 1 */
        attemptsPerSeller: z.number().int().min(1).max(MAX_ATTEMPTS_PER_SELLER).optional()
      })
      .optional(),
    /** Time limit of the step's paid call (ms). @default 180000 */
    timeoutMs: z.number().int().min(100).max(3_600_000).optional()
  })
  .refine((s) => (s.capability == null) !== (s.listing == null), 'give exactly one of capability and listing')

export const WorkflowDefinitionSchema = z.strictObject({
  name: z.string().max(128).optional(),
  /** The workflow input, read by templates as `/input`. */
  input: z.unknown().optional(),
  /** Most the whole workflow may spend, in atomic units (reserved up front). */
  budget: amount,
  /** Steps run at the same time. @default 4 */
  concurrency: z.number().int().min(1).max(MAX_STEPS).optional(),
  steps: z.array(StepSchema).min(1).max(MAX_STEPS)
})

/** A workflow as written (YAML or JSON): amounts as decimal strings, numbers or bigints. */
export type WorkflowDefinition = z.input<typeof WorkflowDefinitionSchema>

/** A step, validated: amounts as bigints, dependencies resolved. */
export interface PlannedStep {
  id: string
  capability?: string
  listing?: string
  input: unknown
  maxPrice: bigint
  /** Every step this one waits for (`after` and the outputs its input reads), sorted. */
  dependsOn: string[]
  maxSellers: number
  attemptsPerSeller: number
  timeoutMs: number
}

/** A validated workflow: steps in a topological order. */
export interface WorkflowPlan {
  name?: string
  input: unknown
  budget: bigint
  concurrency: number
  steps: PlannedStep[]
}

/**
 * Validates a workflow definition: shape and bounds (zod), unique step ids, templates' pointers, dependencies on known
 * steps, no cycle ({@link WorkflowCycleError}), and per-step caps within the total budget. Throws
 * {@link WorkflowDefinitionError} with every issue.
 */
export function planWorkflow(definition: unknown): WorkflowPlan {
  // Bound nesting and size before zod or JSON.stringify recurse into it.
  if (depthOf(definition, MAX_TEMPLATE_DEPTH + 4) > MAX_TEMPLATE_DEPTH + 4) {
    throw new WorkflowDefinitionError([`nested deeper than ${MAX_TEMPLATE_DEPTH} levels`])
  }
  let size: number
  try {
    size = Buffer.byteLength(JSON.stringify(definition, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) ?? '')
  } catch (err) {
    throw new WorkflowDefinitionError([`not JSON: ${(err as Error).message}`])
  }
  if (size > MAX_DEFINITION_BYTES) {
    throw new WorkflowDefinitionError([`${size} bytes, more than ${MAX_DEFINITION_BYTES}`])
  }
  const parsed = WorkflowDefinitionSchema.safeParse(definition)
  if (!parsed.success) {
    throw new WorkflowDefinitionError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`))
  }
  const def = parsed.data
  const issues: string[] = []
  const ids = new Set<string>()
  for (const s of def.steps) {
    if (ids.has(s.id)) issues.push(`steps: duplicate id "${s.id}"`)
    ids.add(s.id)
  }
  const steps: PlannedStep[] = def.steps.map((s, i) => {
    const input = s.input === undefined ? { $ref: '/input' } : s.input
    const deps = new Set(s.after ?? [])
    try {
      for (const ref of templateRefs(input)) if (ref.step != null) deps.add(ref.step)
    } catch (err) {
      if (!(err instanceof JsonPointerError)) throw err
      issues.push(`steps.${i}.input: ${err.message}`)
    }
    for (const d of deps) if (!ids.has(d)) issues.push(`steps.${i}: depends on unknown step "${d}"`)
    if (s.maxPrice > def.budget) issues.push(`steps.${i}.maxPrice: ${s.maxPrice} is over the budget ${def.budget}`)
    return {
      id: s.id,
      ...(s.capability != null ? { capability: s.capability } : {}),
      ...(s.listing != null ? { listing: s.listing } : {}),
      input,
      maxPrice: s.maxPrice,
      dependsOn: [...deps].sort(),
      maxSellers: s.retry?.maxSellers ?? DEFAULT_MAX_SELLERS,
      attemptsPerSeller: s.retry?.attemptsPerSeller ?? 1,
      timeoutMs: s.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS
    }
  })
  if (issues.length > 0) throw new WorkflowDefinitionError(issues)
  return {
    ...(def.name != null ? { name: def.name } : {}),
    input: def.input ?? null,
    budget: def.budget,
    concurrency: def.concurrency ?? DEFAULT_CONCURRENCY,
    steps: topologicalOrder(steps)
  }
}

/** Steps ordered so that each comes after what it depends on; a cycle throws {@link WorkflowCycleError}. */
function topologicalOrder(steps: PlannedStep[]): PlannedStep[] {
  const byId = new Map(steps.map((s) => [s.id, s]))
  const state = new Map<string, 'visiting' | 'done'>()
  const order: PlannedStep[] = []
  const path: string[] = []
  const visit = (step: PlannedStep): void => {
    const seen = state.get(step.id)
    if (seen === 'done') return
    if (seen === 'visiting') {
      throw new WorkflowCycleError([...path.slice(path.indexOf(step.id)), step.id])
    }
    state.set(step.id, 'visiting')
    path.push(step.id)
    for (const d of step.dependsOn) visit(byId.get(d)!)
    path.pop()
    state.set(step.id, 'done')
    order.push(step)
  }
  for (const s of steps) visit(s)
  return order
}

/** Parses a workflow file's text (YAML, of which JSON is a subset) and validates it ({@link planWorkflow}). */
export function parseWorkflowDefinition(text: string): WorkflowPlan {
  let value: unknown
  try {
    value = parseYaml(text, { maxAliasCount: 100 })
  } catch (err) {
    throw new WorkflowDefinitionError([`not YAML or JSON: ${(err as Error).message}`])
  }
  return planWorkflow(value)
}

/** The plan as JSON-safe data (amounts as strings), as stored and as {@link planWorkflow} reads it back. */
export function planToDefinition(plan: WorkflowPlan): WorkflowDefinition {
  return {
    ...(plan.name != null ? { name: plan.name } : {}),
    input: plan.input,
    budget: plan.budget.toString(),
    concurrency: plan.concurrency,
    steps: plan.steps.map((s) => ({
      id: s.id,
      ...(s.capability != null ? { capability: s.capability } : {}),
      ...(s.listing != null ? { listing: s.listing } : {}),
      input: s.input,
      maxPrice: s.maxPrice.toString(),
      ...(s.dependsOn.length > 0 ? { after: s.dependsOn } : {}),
      retry: { maxSellers: s.maxSellers, attemptsPerSeller: s.attemptsPerSeller },
      timeoutMs: s.timeoutMs
    }))
  }
}
