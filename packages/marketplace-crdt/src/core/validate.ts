import { type InvalidListingError, RejectedUpdateError } from '../errors.ts'
import { entryClientId } from './client-id.ts'
import {
  MAX_ENVELOPE_SIZE,
  type ParsedRecord,
  type PreverifiedSignatures,
  parseRecord,
  type SignedRecord,
  verifyParsed
} from './envelope.ts'
import { type ListingRecord, listingKey, MAX_LISTING_TTL_MS } from './listing.ts'
import type { DeleteRange, ScannedUpdate } from './scanned-update.ts'

/** Name of the root Y.Map holding every listing, keyed `<seller peer id>/<listing id>`. */
export const LISTINGS_MAP = 'listings'

/** Bounds and clock used while validating (docs/marketplace-threat-model.md). */
export interface ValidationOptions {
  /** Unix ms. */
  now: number
  /** Largest update accepted. */
  maxUpdateSize: number
  /** Most structs (items) in one update; also bounds its delete ranges. */
  maxStructs: number
  /** How far a record's timestamps may be in the future (clock skew). */
  maxSkewMs: number
  /** After expiry (listings) or retention (delistings), anyone may delete an entry once this grace has passed. */
  graceMs: number
  /** The version of a key this node collected (deleted) recently, so a replay of it is refused. */
  knownVersion?: (key: string) => number | undefined
  /** Longest a listing may live. @default 24 h */
  maxTtlMs?: number
  /** Signatures already checked for exactly these bytes. */
  preverified?: PreverifiedSignatures
  /** Listing keys (live, withdrawn or collected) one seller may hold in one document (epoch). @default 1000 */
  maxListingsPerSeller?: number
  /** Bytes of signed records one seller may hold in one document (epoch). @default 4 MiB */
  maxBytesPerSeller?: number
  /** The document's epoch: every record's `updatedAt` must fall in `[startMs, endMs)`. */
  window?: { startMs: number; endMs: number }
}

/** What an accepted update changes. */
export interface ValidatedUpdate {
  /** Keys whose value the update replaces, with the new verified record. */
  records: Map<string, SignedRecord>
  /** Keys whose live value the update deletes (expired entries). */
  removed: Set<string>
}

/**
 * Why an entry of an update was left out: `missing` — an earlier version is missing here (a state sync with the sender
 * brings it); `stale` — older than, or expired compared with, what this node holds; `quota` — its seller holds its
 * quota; `invalid` — it breaks a rule (forged, malformed, not its slot).
 */
export type DropKind = RejectedUpdateError['kind']

export interface DroppedEntry {
  /** The listing key, when known. */
  key: string | undefined
  /** The Yjs client id the entry was written with. */
  client: number
  kind: DropKind
  reason: string
}

/** What validation reads of a marketplace document (see `MarketplaceDoc`): one Yjs client per listing key. */
export interface EntryView {
  /** Next clock of a client: how many versions of its key's chain this node holds. */
  state(client: number): number
  /** The key of the chain a client holds. */
  keyOf(client: number): string | undefined
  /** Whether the last item of a client's chain is live (not deleted). */
  tailLive(client: number): boolean
  /** Size of the signed record kept in a client's last item (live or collected). */
  tailBytes(client: number): number
  /** The verified live record of a key. */
  current(key: string): SignedRecord | undefined
  /** Keys and bytes of signed records a seller holds in the document. */
  usage(seller: string): { keys: number; bytes: number }
}

/** The new part of one key's chain an update brings, checked except for signatures and quota. */
export interface ChainPlan {
  /** The struct group (client) of the update it comes from. */
  group: number
  client: number
  key: string
  seller: string
  /** Structs to apply: `structs[from … to)`; the last is the new value. */
  from: number
  to: number
  final: ParsedRecord
  finalClock: number
  /** The new value arrives already deleted (a peer's collected entry). */
  finalDeleted: boolean
  /** Structs holding signed records, whose signatures must verify. */
  binaries: number[]
  /** The node held nothing of this key. */
  newKey: boolean
  /** The key's clock (its client's state) this plan was made against. */
  state: number
  /** Record bytes the key holds before and after. */
  bytesBefore: number
  bytesAfter: number
}

/** Records parsed from an update's new structs, by struct index (`undefined`: deleted content or already held). */
export type ParsedEntries = Array<ParsedRecord | InvalidListingError | undefined>

/** Default quota per seller and document. */
export const DEFAULT_MAX_LISTINGS_PER_SELLER = 1_000
export const DEFAULT_MAX_BYTES_PER_SELLER = 4 * 1024 * 1024

/** How long a delisting tombstone is kept: past it, any replay of the withdrawn listing has expired anyway. */
export function delistingRetentionMs(o: Pick<ValidationOptions, 'graceMs' | 'maxTtlMs'>): number {
  return (o.maxTtlMs ?? MAX_LISTING_TTL_MS) + o.graceMs
}

/** When anyone may delete an entry: a listing once expired for a grace period, a delisting after its retention. */
export function collectionTime(record: ListingRecord, o: Pick<ValidationOptions, 'graceMs' | 'maxTtlMs'>): number {
  return record.kind === 'listing' ? record.expiresAt + o.graceMs : record.updatedAt + delistingRetentionMs(o)
}

function collectable(record: ListingRecord | undefined, o: ValidationOptions): boolean {
  return record != null && collectionTime(record, o) < o.now
}

/** Scan limits for an update under these options. */
export function scanLimits(o: Pick<ValidationOptions, 'maxUpdateSize' | 'maxStructs'>) {
  return {
    maxUpdateSize: o.maxUpdateSize,
    maxStructs: o.maxStructs,
    maxBinaryBytes: MAX_ENVELOPE_SIZE,
    root: LISTINGS_MAP
  }
}

/** Parses the signed records of the structs this node does not hold yet (stepwise; no signature checks). */
export function* parseEntries(
  scan: ScannedUpdate,
  view: EntryView,
  from = 0,
  to = scan.groups,
  parsed: ParsedEntries = []
): Generator<void, ParsedEntries> {
  for (let g = from; g < Math.min(to, scan.groups); g++) {
    const state = view.state(scan.groupClient(g))
    for (let i = scan.groupFirst(g); i < scan.groupEnd(g); i++) {
      const binary = scan.binary(i)
      if (binary == null || scan.next(i) <= state) continue
      try {
        parsed[i] = parseRecord(binary)
      } catch (err) {
        parsed[i] = err as InvalidListingError
      }
      if (i % 64 === 63) yield
    }
  }
  return parsed
}

/** An index of an update's delete set, by client (only the clients of its struct groups: what planning asks about). */
export function deleteIndex(scan: ScannedUpdate): Map<number, DeleteRange[]> {
  const index = new Map<number, DeleteRange[]>()
  const clients = new Set<number>()
  for (let g = 0; g < scan.groups; g++) clients.add(scan.groupClient(g))
  for (let i = 0; i < scan.ranges; i++) {
    if (!clients.has(scan.rangeClient(i))) continue
    const r = { client: scan.rangeClient(i), clock: scan.rangeClock(i), len: scan.rangeLen(i) }
    const list = index.get(r.client)
    if (list == null) index.set(r.client, [r])
    else list.push(r)
  }
  return index
}

const covers = (ranges: DeleteRange[] | undefined, clock: number): boolean =>
  ranges?.some((r) => r.clock <= clock && clock < r.clock + r.len) === true

/** The seller of a key `<seller>/<id>` (empty when there is no slash). */
export const sellerOf = (key: string): string => key.slice(0, Math.max(0, key.indexOf('/')))

/**
 * Checks the new part of one client's chain against the document (everything but signatures and quota). A chain holds
 * the versions of one key in order: its first item (clock 0) names the key, whose hash must be the client id; every
 * later item extends the previous one; each signed record sits at the slot it was signed for (`seq`), so an update
 * can only ever bring the seller's own items in their own slots. Returns the plan, a drop, or `undefined` when the node
 * holds all of it already.
 */
export function planChain(
  scan: ScannedUpdate,
  g: number,
  parsed: ParsedEntries,
  deletes: Map<number, DeleteRange[]>,
  view: EntryView,
  o: ValidationOptions
): ChainPlan | DroppedEntry | undefined {
  const client = scan.groupClient(g)
  const end = scan.groupEnd(g)
  const state = view.state(client)
  let i = scan.groupFirst(g)
  while (i < end && scan.next(i) <= state) i++
  if (i === end) return undefined // already held: Yjs skips it
  const firstKey = scan.key(i)
  const firstClock = scan.clock(i)
  const hasOrigin = scan.originClient(i) >= 0
  const drop = (kind: DropKind, reason: string, key = firstKey ?? view.keyOf(client)): DroppedEntry => ({
    key,
    client,
    kind,
    reason
  })
  if (firstClock > state) return drop('missing', `client ${client} jumps from clock ${state} to ${firstClock}`)

  let key: string
  if (state === 0) {
    if (hasOrigin || firstKey == null) return drop('invalid', 'a chain must start with its key')
    key = firstKey
  } else {
    const held = view.keyOf(client)
    if (held == null) return drop('invalid', `client ${client} holds no listings-map chain`)
    key = held
    if (firstKey != null && firstKey !== key) return drop('invalid', `a new chain for ${key}, which already has one`)
    if (firstClock === state && !hasOrigin) return drop('invalid', `a new chain for ${key}, which already has one`)
    if (hasOrigin && (scan.originClient(i) !== client || scan.originClock(i) !== firstClock - 1)) {
      return drop('invalid', `item for ${key} does not extend the key's latest entry`)
    }
  }
  const seller = sellerOf(key)
  if (seller.length === 0 || entryClientId(key) !== client) {
    return drop('invalid', `client ${client} may not write ${key}`, key)
  }

  const maxTtl = o.maxTtlMs ?? MAX_LISTING_TTL_MS
  const binaries: number[] = []
  let version = -1
  for (let j = i; j < end; j++) {
    if (j > i && (scan.originClient(j) !== client || scan.originClock(j) !== scan.clock(j) - 1)) {
      return drop('invalid', `items may only extend their own client's chain (${key})`, key)
    }
    if (scan.deleted(j)) continue
    const p = parsed[j]
    if (p == null || !('record' in p)) return drop('invalid', `${key}: ${p?.message ?? 'unparsed entry'}`, key)
    const r = p.record
    if (r.seller !== seller || listingKey(r.seller, r.id) !== key) {
      return drop('invalid', `${key} holds a record of ${listingKey(r.seller, r.id)}`, key)
    }
    if (r.seq !== scan.clock(j)) {
      return drop('invalid', `${key}: the record signed for slot ${r.seq} sits in slot ${scan.clock(j)}`, key)
    }
    if (r.updatedAt > o.now + o.maxSkewMs) return drop('invalid', `${key}: version is in the future`, key)
    if (r.kind === 'listing') {
      if (r.createdAt > r.updatedAt) return drop('invalid', `${key}: created after its version`, key)
      if (r.expiresAt < r.updatedAt) return drop('invalid', `${key}: expires before its version`, key)
      if (r.expiresAt > r.updatedAt + maxTtl) return drop('invalid', `${key}: lives longer than allowed`, key)
    }
    if (o.window != null && (r.updatedAt < o.window.startMs || r.updatedAt >= o.window.endMs)) {
      return drop('invalid', `${key}: version outside the document's epoch`, key)
    }
    if (r.updatedAt <= version) return drop('invalid', `${key}: versions must increase along its chain`, key)
    version = r.updatedAt
    binaries.push(j)
  }
  const last = end - 1
  const final = parsed[last]
  if (scan.deleted(last) || final == null || !('record' in final)) {
    return drop('invalid', `${key}: an update must not end a key with a deletion`, key)
  }
  const r = final.record
  const current = view.current(key)?.record.updatedAt ?? -1
  if (r.updatedAt <= current) return drop('stale', `${key}: version ${r.updatedAt} is not newer than ${current}`, key)
  const finalDeleted = covers(deletes.get(client), scan.clock(last))
  if (finalDeleted) {
    // A peer's collected entry: it never becomes visible, so only its signature, slot and version matter — and that
    // it was collectable indeed.
    if (!collectable(r, o)) return drop('invalid', `${key}: the update deletes its own new entry`, key)
  } else {
    // Entries past their collection time are refused (a stale copy must not come back), with one more grace period of
    // slack so that a peer that has not collected yet can still sync its state to us.
    if (collectionTime(r, o) + o.graceMs <= o.now) return drop('stale', `${key}: expired`, key)
    if (r.updatedAt <= (o.knownVersion?.(key) ?? -1)) {
      return drop('stale', `${key}: version ${r.updatedAt} was already collected`, key)
    }
  }
  return {
    group: g,
    client,
    key,
    seller,
    from: i,
    to: end,
    final,
    finalClock: scan.clock(last),
    finalDeleted,
    binaries,
    newKey: state === 0,
    state,
    bytesBefore: state === 0 ? 0 : view.tailBytes(client),
    bytesAfter: final.bytes.byteLength
  }
}

const isPlan = (x: ChainPlan | DroppedEntry): x is ChainPlan => 'final' in x

/** The group indices of an update (`from` to `to`). */
export function* groupsOf(scan: ScannedUpdate, from = 0, to = scan.groups): IterableIterator<number> {
  for (let g = from; g < Math.min(to, scan.groups); g++) yield g
}

/** Where a strict validation stops: the first entry that would be dropped rejects the whole update. */
export function rejectFor(dropped: DroppedEntry): never {
  throw new RejectedUpdateError(dropped.reason, dropped.kind === 'missing', dropped.kind)
}

/** Plans the chains of `groups`; in strict mode the first drop throws. */
export function planChains(
  scan: ScannedUpdate,
  groups: Iterable<number>,
  parsed: ParsedEntries,
  deletes: Map<number, DeleteRange[]>,
  view: EntryView,
  o: ValidationOptions,
  strict: boolean
): { plans: ChainPlan[]; dropped: DroppedEntry[] } {
  const plans: ChainPlan[] = []
  const dropped: DroppedEntry[] = []
  for (const g of groups) {
    const plan = planChain(scan, g, parsed, deletes, view, o)
    if (plan == null) continue
    if (isPlan(plan)) plans.push(plan)
    else if (strict) rejectFor(plan)
    else dropped.push(plan)
  }
  return { plans, dropped }
}

/** Keeps the plans whose records' signatures verified (`verdicts` by struct index). */
export function keepVerified(
  plans: readonly ChainPlan[],
  verified: (index: number) => boolean,
  dropped: DroppedEntry[],
  strict: boolean
): ChainPlan[] {
  return plans.filter((p) => {
    if (p.binaries.every(verified)) return true
    const d: DroppedEntry = {
      key: p.key,
      client: p.client,
      kind: 'invalid',
      reason: `${p.key}: listing signature does not verify for its seller`
    }
    if (strict) rejectFor(d)
    dropped.push(d)
    return false
  })
}

/** Keeps the plans within their sellers' quotas (in update order). */
export function keepWithinQuota(
  plans: readonly ChainPlan[],
  view: EntryView,
  o: ValidationOptions,
  dropped: DroppedEntry[],
  strict: boolean
): ChainPlan[] {
  const maxKeys = o.maxListingsPerSeller ?? DEFAULT_MAX_LISTINGS_PER_SELLER
  const maxBytes = o.maxBytesPerSeller ?? DEFAULT_MAX_BYTES_PER_SELLER
  const added = new Map<string, { keys: number; bytes: number }>()
  return plans.filter((p) => {
    const held = view.usage(p.seller)
    const sum = added.get(p.seller) ?? { keys: 0, bytes: 0 }
    const keys = held.keys + sum.keys + (p.newKey ? 1 : 0)
    const bytes = held.bytes + sum.bytes + p.bytesAfter - p.bytesBefore
    let reason: string | undefined
    if (keys > maxKeys) reason = `${p.seller} already holds ${maxKeys} listings in this epoch`
    else if (bytes > maxBytes) reason = `${p.seller} would hold more than ${maxBytes} bytes of listings in this epoch`
    if (reason != null) {
      const d: DroppedEntry = { key: p.key, client: p.client, kind: 'quota', reason }
      if (strict) rejectFor(d)
      dropped.push(d)
      return false
    }
    sum.keys += p.newKey ? 1 : 0
    sum.bytes += p.bytesAfter - p.bytesBefore
    added.set(p.seller, sum)
    return true
  })
}

/**
 * Checks an update's deletions against the document and the chains it brings (`plans`, applied or not): a range may
 * delete superseded history, the update's own new value when that arrives collected, or a live value that is
 * collectable (a listing past expiry and grace, a delisting past retention). Ranges beyond anything this node holds or
 * receives are left out (Yjs would keep them pending forever).
 */
export function* planDeletes(
  scan: ScannedUpdate,
  plans: ReadonlyMap<number, ChainPlan>,
  view: EntryView,
  o: ValidationOptions,
  dropped: DroppedEntry[],
  strict: boolean
): Generator<void, { ranges: DeleteRange[]; removed: Set<string> }> {
  const ranges: DeleteRange[] = []
  const removed = new Set<string>()
  for (let i = 0; i < scan.ranges; i++) {
    if (i % 4_096 === 4_095) yield
    const r = { client: scan.rangeClient(i), clock: scan.rangeClock(i), len: scan.rangeLen(i) }
    const plan = plans.get(r.client)
    const state = view.state(r.client)
    const known = Math.max(state, plan != null ? plan.finalClock + 1 : 0)
    if (r.clock >= known) continue
    const end = Math.min(r.clock + r.len, known)
    if (plan != null) {
      // Superseded history, or the new value arriving collected (checked when the chain was planned).
      if (r.clock <= plan.finalClock && plan.finalClock < end) removed.add(plan.key)
    } else {
      const tail = state - 1
      if (r.clock <= tail && tail < end && view.tailLive(r.client)) {
        const key = view.keyOf(r.client)
        const current = key != null ? view.current(key) : undefined
        if (key == null || !collectable(current?.record, o)) {
          const d: DroppedEntry = {
            key,
            client: r.client,
            kind: 'invalid',
            reason: `deletes the live entry ${key ?? `of client ${r.client}`} before it expired`
          }
          if (strict) rejectFor(d)
          dropped.push(d)
          continue
        }
        removed.add(key)
      }
    }
    ranges.push({ client: r.client, clock: r.clock, len: end - r.clock })
  }
  return { ranges, removed }
}

/** Verifies the signatures of the plans' records, here and now. */
export function verifyNow(
  plans: readonly ChainPlan[],
  parsed: ParsedEntries,
  checked?: PreverifiedSignatures
): (index: number) => boolean {
  const ok = new Set<number>()
  for (const p of plans) {
    for (const i of p.binaries) {
      const entry = parsed[i]
      if (entry != null && 'record' in entry && verifyParsed(entry, checked)) ok.add(i)
      else break
    }
  }
  return (i) => ok.has(i)
}
