import * as Y from 'yjs'
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
import {
  type DeleteRange,
  runNow,
  type ScannedGroup,
  type ScannedStruct,
  type ScannedUpdate,
  scanUpdate
} from './update-format.ts'

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
export type DropKind = 'missing' | 'stale' | 'quota' | 'invalid'

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
export function* parseEntries(scan: ScannedUpdate, view: EntryView): Generator<void, ParsedEntries> {
  const parsed: ParsedEntries = new Array(scan.structs.length)
  for (const g of scan.groups) {
    const state = view.state(g.client)
    for (let i = g.first; i < g.first + g.count; i++) {
      const s = scan.structs[i] as ScannedStruct
      if (s.binary == null || s.clock + s.length <= state) continue
      try {
        parsed[i] = parseRecord(s.binary)
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
  const clients = new Set(scan.groups.map((g) => g.client))
  for (const r of scan.ds) {
    if (!clients.has(r.client)) continue
    const list = index.get(r.client)
    if (list == null) index.set(r.client, [r])
    else list.push(r)
  }
  return index
}

const covers = (ranges: DeleteRange[] | undefined, clock: number): boolean =>
  ranges?.some((r) => r.clock <= clock && clock < r.clock + r.len) === true

/** The listing key a client's id is bound to is checked by hashing; `<seller>/<id>`. */
const sellerOf = (key: string): string => key.slice(0, Math.max(0, key.indexOf('/')))

/**
 * Checks the new part of one client's chain against the document (everything but signatures and quota). A chain holds
 * the versions of one key in order: its first item (clock 0) names the key, whose hash must be the client id; every
 * later item extends the previous one; each signed record sits at the slot it was signed for (`seq`), so an update
 * can only ever bring the seller's own items in their own slots. Returns the plan, a drop, or `undefined` when the node
 * holds all of it already.
 */
export function planChain(
  scan: ScannedUpdate,
  g: ScannedGroup,
  parsed: ParsedEntries,
  deletes: Map<number, DeleteRange[]>,
  view: EntryView,
  o: ValidationOptions
): ChainPlan | DroppedEntry | undefined {
  const { client } = g
  const end = g.first + g.count
  const state = view.state(client)
  let i = g.first
  while (i < end && (scan.structs[i] as ScannedStruct).clock + (scan.structs[i] as ScannedStruct).length <= state) i++
  if (i === end) return undefined // already held: Yjs skips it
  const first = scan.structs[i] as ScannedStruct
  const drop = (kind: DropKind, reason: string, key = first.key ?? view.keyOf(client)): DroppedEntry => ({
    key,
    client,
    kind,
    reason
  })
  if (first.clock > state) return drop('missing', `client ${client} jumps from clock ${state} to ${first.clock}`)

  let key: string
  if (state === 0) {
    if (first.origin != null || first.key == null) return drop('invalid', 'a chain must start with its key')
    key = first.key
  } else {
    const held = view.keyOf(client)
    if (held == null) return drop('invalid', `client ${client} holds no listings-map chain`)
    key = held
    if (first.key != null && first.key !== key) return drop('invalid', `a new chain for ${key}, which already has one`)
    if (first.clock === state && first.origin == null) {
      return drop('invalid', `a new chain for ${key}, which already has one`)
    }
    if (first.origin != null && (first.origin.client !== client || first.origin.clock !== first.clock - 1)) {
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
    const s = scan.structs[j] as ScannedStruct
    if (j > i && (s.origin == null || s.origin.client !== client || s.origin.clock !== s.clock - 1)) {
      return drop('invalid', `items may only extend their own client's chain (${key})`, key)
    }
    if (s.deleted) continue
    const p = parsed[j]
    if (p == null || !('record' in p)) return drop('invalid', `${key}: ${p?.message ?? 'unparsed entry'}`, key)
    const r = p.record
    if (r.seller !== seller || listingKey(r.seller, r.id) !== key) {
      return drop('invalid', `${key} holds a record of ${listingKey(r.seller, r.id)}`, key)
    }
    if (r.seq !== s.clock)
      return drop('invalid', `${key}: the record signed for slot ${r.seq} sits in slot ${s.clock}`, key)
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
  const last = scan.structs[end - 1] as ScannedStruct
  const final = parsed[end - 1]
  if (last.deleted || final == null || !('record' in final)) {
    return drop('invalid', `${key}: an update must not end a key with a deletion`, key)
  }
  const r = final.record
  const current = view.current(key)?.record.updatedAt ?? -1
  if (r.updatedAt <= current) return drop('stale', `${key}: version ${r.updatedAt} is not newer than ${current}`, key)
  const finalDeleted = covers(deletes.get(client), last.clock)
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
    client,
    key,
    seller,
    from: i,
    to: end,
    final,
    finalClock: last.clock,
    finalDeleted,
    binaries,
    newKey: state === 0,
    bytesBefore: state === 0 ? 0 : view.tailBytes(client),
    bytesAfter: final.bytes.byteLength
  }
}

const isPlan = (x: ChainPlan | DroppedEntry): x is ChainPlan => 'final' in x

/** Where a strict validation stops: the first entry that would be dropped rejects the whole update. */
export function rejectFor(dropped: DroppedEntry): never {
  throw new RejectedUpdateError(dropped.reason, dropped.kind === 'missing')
}

/** Plans the chains of `groups`; in strict mode the first drop throws. */
export function planChains(
  scan: ScannedUpdate,
  groups: readonly ScannedGroup[],
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
  ds: readonly DeleteRange[],
  plans: ReadonlyMap<number, ChainPlan>,
  view: EntryView,
  o: ValidationOptions,
  dropped: DroppedEntry[],
  strict: boolean
): Generator<void, { ranges: DeleteRange[]; removed: Set<string> }> {
  const ranges: DeleteRange[] = []
  const removed = new Set<string>()
  for (const [i, r] of ds.entries()) {
    if (i % 4_096 === 4_095) yield
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

/** An {@link EntryView} over one plain Y.Doc (records verified on demand): for {@link validateUpdate}. */
function plainView(doc: Y.Doc): EntryView {
  const map = doc.getMap(LISTINGS_MAP) as unknown as { _map: Map<string, Y.Item> }
  const last = (client: number) => {
    const structs = doc.store.clients.get(client)
    return structs?.[structs.length - 1]
  }
  const bytesOf = (item: Y.AbstractStruct | undefined) =>
    item instanceof Y.Item && item.content instanceof Y.ContentBinary ? item.content.content.byteLength : 0
  return {
    state: (client) => Y.getState(doc.store, client),
    keyOf: (client) => {
      const first = doc.store.clients.get(client)?.[0]
      return first instanceof Y.Item && first.parentSub != null ? first.parentSub : undefined
    },
    tailLive: (client) => {
      const item = last(client)
      return item instanceof Y.Item && !item.deleted
    },
    tailBytes: (client) => bytesOf(last(client)),
    current: (key) => {
      const item = map._map.get(key)
      if (item == null || item.deleted || !(item.content instanceof Y.ContentBinary)) return undefined
      try {
        const parsed = parseRecord(item.content.content)
        return verifyParsed(parsed) ? parsed : undefined
      } catch {
        return undefined
      }
    },
    usage: (seller) => {
      let keys = 0
      let bytes = 0
      for (const [key, item] of map._map) {
        if (sellerOf(key) !== seller) continue
        keys++
        bytes += bytesOf(item)
      }
      return { keys, bytes }
    }
  }
}

/**
 * Checks a Yjs update from the network against one plain Y.Doc **without applying it**, all or nothing. (A
 * `MarketplaceDoc` runs the same rules entry by entry in `applyRemote`.) Throws {@link RejectedUpdateError};
 * `needsSync` marks an update that only failed because an earlier one is missing.
 */
export function validateUpdate(doc: Y.Doc, update: Uint8Array, o: ValidationOptions): ValidatedUpdate {
  const view = plainView(doc)
  const scan = runNow(scanUpdate(update, scanLimits(o)))
  const parsed = runNow(parseEntries(scan, view))
  const deletes = deleteIndex(scan)
  const dropped: DroppedEntry[] = []
  let { plans } = planChains(scan, scan.groups, parsed, deletes, view, o, true)
  plans = keepVerified(plans, verifyNow(plans, parsed, o.preverified), dropped, true)
  plans = keepWithinQuota(plans, view, o, dropped, true)
  const { removed } = runNow(planDeletes(scan.ds, new Map(plans.map((p) => [p.client, p])), view, o, dropped, true))
  const records = new Map<string, SignedRecord>()
  for (const p of plans) if (!p.finalDeleted) records.set(p.key, { record: p.final.record, bytes: p.final.bytes })
  return { records, removed }
}
