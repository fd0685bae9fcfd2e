import { verifyParsedMany } from './envelope.ts'
import type { DeleteRange, ScannedUpdate } from './scanned-update.ts'
import { runNow, runSliced, Slicer } from './slices.ts'
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
  /** The shard (Yjs document) a key's client is in: one transaction per shard and step. */
  shardOf(client: number): number
  /** Resolves once no shard split is under way: a bulk apply waits for one between steps (documents stay small). */
  settled(): Promise<void>
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
/** Keys (struct groups) parsed, planned and verified together by `applyInSteps`. */
const BATCH = 256

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
 * Checks and applies an update in slices of a few milliseconds (signatures on two cores), batch by batch of 256 keys,
 * so that what a batch parses is applied or dropped before the next is read (little for the garbage collector to copy).
 * `strict`: every batch is checked before anything is applied, and the first entry that fails rejects the update
 * without reading further. Entries are applied in steps of at most 128 keys or 128 KiB of one shard, each planned again
 * against the document as it is then (other work runs in between).
 */
export async function applyInSteps(
  target: ApplyTarget,
  update: Uint8Array,
  o: ValidationOptions,
  strict: boolean
): Promise<Applied> {
  const scan = await runSliced(scanUpdate(update, scanLimits(o)))
  const deletes = deleteIndex(scan)
  const parsed: ParsedEntries = []
  const dropped: DroppedEntry[] = []
  const committed: ChainPlan[] = []
  /** Clients whose chains (and their own delete ranges) were committed. */
  const done = new Set<number>()
  const slicer = new Slicer()
  /** Parses, plans and verifies one batch of groups. */
  const check = async (from: number): Promise<ChainPlan[]> => {
    await runSliced(parseEntries(scan, target.view, from, from + BATCH, parsed))
    const planned = planChains(scan, groupsOf(scan, from, from + BATCH), parsed, deletes, target.view, o, strict)
    dropped.push(...planned.dropped)
    return keepVerified(planned.plans, await verifyBulk(planned.plans, parsed, o), dropped, strict)
  }
  /**
   * Applies checked plans step by step. A key whose clock moved since it was checked (other work ran in between) is
   * planned again against the document as it is then; quotas are always checked again. (A key collected meanwhile keeps
   * its clock: its plan stays right, as the new version is newer than the one collected.)
   */
  const apply = async (candidates: readonly ChainPlan[]): Promise<void> => {
    const byGroup = new Map(candidates.map((p) => [p.group, p]))
    for (const groups of steps(scan, candidates, (client) => target.shardOf(client))) {
      await slicer.tick()
      await target.settled()
      const current: ChainPlan[] = []
      const moved: number[] = []
      for (const g of groups) {
        const plan = byGroup.get(g) as ChainPlan
        if (target.view.state(plan.client) === plan.state) current.push(plan)
        else moved.push(g)
      }
      const again = planChains(scan, moved, parsed, deletes, target.view, o, false)
      dropped.push(...again.dropped)
      const plans = keepWithinQuota([...current, ...again.plans], target.view, o, dropped, false)
      // With the ranges of their own clients (superseded history, a value arriving collected), in the same transaction
      // as `applyNow` does: an entry that arrives collected is never live, so it is never reported.
      target.commit(scan, plans, ownRanges(plans, deletes, target.view))
      committed.push(...plans)
      for (const p of plans) done.add(p.client)
    }
  }
  /** Lets go of a batch's parsed records. */
  const release = (from: number) => {
    const to = Math.min(from + BATCH, scan.groups)
    if (to > from) parsed.fill(undefined, scan.groupFirst(from), scan.groupEnd(to - 1))
  }
  if (strict) {
    // All or nothing: every rule is checked before anything is applied.
    let candidates: ChainPlan[] = []
    for (let from = 0; from < scan.groups; from += BATCH) candidates.push(...(await check(from)))
    candidates = keepWithinQuota(candidates, target.view, o, dropped, true)
    await runSliced(planDeletes(scan, new Map(candidates.map((p) => [p.client, p])), target.view, o, dropped, true))
    await apply(candidates)
  } else {
    for (let from = 0; from < scan.groups; from += BATCH) {
      await apply(await check(from))
      release(from)
    }
  }
  await slicer.tick()
  const byClient = new Map(committed.map((p) => [p.client, p]))
  const { ranges, removed } = await runSliced(planDeletes(scan, byClient, target.view, o, dropped, false))
  // The ranges of committed chains went in with them; the rest (collections of entries held here) now.
  target.commit(
    scan,
    [],
    ranges.filter((r) => !done.has(r.client))
  )
  return { scan, plans: committed, dropped, removed, ranges }
}

/**
 * The delete ranges an update carries for the chains of `plans` (checked when they were planned: superseded history, or
 * the new value arriving collected), cut to what the chains reach, as `planDeletes` cuts them.
 */
function ownRanges(plans: readonly ChainPlan[], deletes: Map<number, DeleteRange[]>, view: EntryView): DeleteRange[] {
  const out: DeleteRange[] = []
  for (const p of plans) {
    const known = Math.max(view.state(p.client), p.finalClock + 1)
    for (const r of deletes.get(p.client) ?? []) {
      if (r.clock < known)
        out.push({ client: r.client, clock: r.clock, len: Math.min(r.clock + r.len, known) - r.clock })
    }
  }
  return out
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
function steps(scan: ScannedUpdate, plans: readonly ChainPlan[], shardOf: (client: number) => number): number[][] {
  const sorted = plans.map((p) => ({ p, shard: shardOf(p.client) })).sort((a, b) => a.shard - b.shard)
  const steps: number[][] = []
  let step: number[] = []
  let bytes = 0
  let shard = -1
  for (const { p, shard: s } of sorted) {
    const size = scan.end(p.to - 1) - scan.start(p.from)
    if (step.length > 0 && (s !== shard || step.length >= MAX_GROUPS_PER_STEP || bytes + size > MAX_BYTES_PER_STEP)) {
      steps.push(step)
      step = []
      bytes = 0
    }
    shard = s
    step.push(p.group)
    bytes += size
  }
  if (step.length > 0) steps.push(step)
  return steps
}
