import { SHARDS } from './entry-store.ts'
import { verifyParsedMany } from './envelope.ts'
import type { DeleteRange, ScannedUpdate } from './scanned-update.ts'
import { runNow, runSliced, SLICE_MS, yieldToEventLoop } from './slices.ts'
import { scanUpdate } from './update-format.ts'
import {
  type ChainPlan,
  type DroppedEntry,
  deleteIndex,
  type EntryView,
  groupsOf,
  keepVerified,
  keepWithinQuota,
  type ParsedEntries,
  parseEntries,
  planChains,
  planDeletes,
  scanLimits,
  type ValidatedUpdate,
  type ValidationOptions,
  verifyNow
} from './validate.ts'

/*
 * Applying a remote update: scan, parse, plan each key's chain, verify signatures, check quotas and deletions (see
 * validate.ts for the rules), then apply — at once (`applyNow`), or in slices and steps that let the event loop through
 * (`applyInSteps`).
 */

/** How `MarketplaceDoc.applyRemote` treats an update. */
export interface ApplyOptions extends Partial<Pick<ValidationOptions, 'maxUpdateSize' | 'maxStructs' | 'preverified'>> {
  /**
   * Apply the valid entries of an update that also carries entries this node leaves out — invalid, stale, over a
   * seller's quota, or lacking an earlier version — and report those in `dropped` (a state sync: one bad entry must
   * not cost the rest). Without it such an update is rejected whole with a `RejectedUpdateError` and nothing is applied
   * (a gossip message: forwarded only if valid as a whole). An update that is malformed or refused by its shape (size,
   * struct count, content types) is rejected whole either way.
   * @default false
   */
  partial?: boolean
}

/** What `MarketplaceDoc.applyRemote` did. */
export interface ApplyResult extends ValidatedUpdate {
  /** Keys whose new versions were applied. */
  applied: number
  /** Entries left out, and why (only with `partial`: otherwise the first one rejects the update). */
  dropped: DroppedEntry[]
  /** Some entries lack an earlier version here: a state sync with the sender brings them. */
  needsSync: boolean
}

/** What the pipeline needs of a document. */
export interface ApplyTarget {
  readonly view: EntryView
  /** Applies planned chains and delete ranges. */
  commit(scan: ScannedUpdate, plans: readonly ChainPlan[], ranges: readonly DeleteRange[]): void
}

/** What an update changed, before it is reported. */
export interface Applied {
  scan: ScannedUpdate
  plans: ChainPlan[]
  dropped: DroppedEntry[]
  removed: Set<string>
  ranges: DeleteRange[]
}

/** Groups applied in one step of `MarketplaceDoc.applyRemoteBulk`. */
const MAX_GROUPS_PER_STEP = 128
const MAX_BYTES_PER_STEP = 128 * 1024
/** Signatures prepared and verified together (half of them on the worker thread). */
const VERIFY_BATCH = 512

/** Checks and applies an update at once. `strict`: the first entry that fails rejects it whole. */
export function applyNow(target: ApplyTarget, update: Uint8Array, o: ValidationOptions, strict: boolean): Applied {
  const scan = runNow(scanUpdate(update, scanLimits(o)))
  const parsed = runNow(parseEntries(scan, target.view))
  const deletes = deleteIndex(scan)
  const planned = planChains(scan, groupsOf(scan), parsed, deletes, target.view, o, strict)
  const dropped = planned.dropped
  let plans = keepVerified(planned.plans, verifyNow(planned.plans, parsed, o.preverified), dropped, strict)
  plans = keepWithinQuota(plans, target.view, o, dropped, strict)
  const byClient = new Map(plans.map((p) => [p.client, p]))
  const { ranges, removed } = runNow(planDeletes(scan, byClient, target.view, o, dropped, strict))
  target.commit(scan, plans, ranges)
  return { scan, plans, dropped, removed, ranges }
}

/**
 * Checks and applies an update in slices of a few milliseconds (signatures on two cores), then in steps of at most 128
 * keys or 256 KiB of one shard, each planned again against the document as it is then.
 */
export async function applyInSteps(
  target: ApplyTarget,
  update: Uint8Array,
  o: ValidationOptions,
  strict: boolean
): Promise<Applied> {
  const scan = await runSliced(scanUpdate(update, scanLimits(o)))
  const parsed = await runSliced(parseEntries(scan, target.view))
  const deletes = deleteIndex(scan)
  const planned = await runSliced(planStepwise(target, scan, parsed, deletes, o, strict))
  const dropped = planned.dropped
  const verified = await verifyBulk(planned.plans, parsed, o)
  let candidates = keepVerified(planned.plans, verified, dropped, strict)
  if (strict) {
    // All or nothing: every rule is checked before anything is applied.
    candidates = keepWithinQuota(candidates, target.view, o, dropped, true)
    await runSliced(planDeletes(scan, new Map(candidates.map((p) => [p.client, p])), target.view, o, dropped, true))
  }
  // Apply step by step, shard by shard; other work (queries, gossip, local writes) may run between steps, so each step
  // plans its chains again against the document as it is.
  const committed: ChainPlan[] = []
  const plan = steps(scan, candidates)
  let since = performance.now()
  for (const groups of plan) {
    if (performance.now() - since >= SLICE_MS) {
      await yieldToEventLoop()
      since = performance.now()
    }
    const again = planChains(scan, groups, parsed, deletes, target.view, o, false)
    dropped.push(...again.dropped)
    const plans = keepWithinQuota(again.plans, target.view, o, dropped, false)
    target.commit(scan, plans, [])
    committed.push(...plans)
  }
  const byClient = new Map(committed.map((p) => [p.client, p]))
  const { ranges, removed } = await runSliced(planDeletes(scan, byClient, target.view, o, dropped, false))
  target.commit(scan, [], ranges)
  return { scan, plans: committed, dropped, removed, ranges }
}

function* planStepwise(
  target: ApplyTarget,
  scan: ScannedUpdate,
  parsed: ParsedEntries,
  deletes: ReturnType<typeof deleteIndex>,
  o: ValidationOptions,
  strict: boolean
): Generator<void, { plans: ChainPlan[]; dropped: DroppedEntry[] }> {
  const plans: ChainPlan[] = []
  const dropped: DroppedEntry[] = []
  for (let i = 0; i < scan.groups; i += 512) {
    const part = planChains(scan, groupsOf(scan, i, i + 512), parsed, deletes, target.view, o, strict)
    plans.push(...part.plans)
    dropped.push(...part.dropped)
    yield
  }
  return { plans, dropped }
}

/** Signatures of the planned records, on two cores, in slices. */
async function verifyBulk(
  plans: readonly ChainPlan[],
  parsed: ParsedEntries,
  o: ValidationOptions
): Promise<(index: number) => boolean> {
  const indices = plans.flatMap((p) => p.binaries)
  const entries = indices.map((i) => parsed[i]).filter((e) => e != null && 'record' in e)
  if (entries.length !== indices.length) return () => false
  // In batches, so that preparing and posting the jobs never holds the event loop long either.
  const verdicts: boolean[] = []
  for (let i = 0; i < entries.length; i += VERIFY_BATCH) {
    const batch = entries.slice(i, i + VERIFY_BATCH) as Parameters<typeof verifyParsedMany>[0]
    verdicts.push(...(await verifyParsedMany(batch, o.preverified)))
  }
  const ok = new Set(indices.filter((_, k) => verdicts[k] === true))
  return (i) => ok.has(i)
}

/** The candidates' groups in apply steps: by shard, at most so many keys and bytes per step. */
function steps(scan: ScannedUpdate, plans: readonly ChainPlan[]): number[][] {
  const sorted = [...plans].sort((a, b) => (a.client % SHARDS) - (b.client % SHARDS))
  const steps: number[][] = []
  let step: number[] = []
  let bytes = 0
  let shard = -1
  for (const p of sorted) {
    const size = scan.end(p.to - 1) - scan.start(p.from)
    if (
      step.length > 0 &&
      (p.client % SHARDS !== shard || step.length >= MAX_GROUPS_PER_STEP || bytes + size > MAX_BYTES_PER_STEP)
    ) {
      steps.push(step)
      step = []
      bytes = 0
    }
    shard = p.client % SHARDS
    step.push(p.group)
    bytes += size
  }
  if (step.length > 0) steps.push(step)
  return steps
}
