import { type PrivateKey, TypedEventEmitter } from '@libp2p/interface'
import * as Y from 'yjs'
import { InvalidListingError } from '../errors.ts'
import {
  type Applied,
  type ApplyOptions,
  type ApplyResult,
  type ApplyTarget,
  applyInSteps,
  applyNow
} from './apply-remote.ts'
import { clientIdOf, entryClientId } from './client-id.ts'
import { EntryStore, REMOTE } from './entry-store.ts'
import { parseRecord, type SignedRecord, signRecords, verifyRecord } from './envelope.ts'
import { LISTING_SCHEMA_VERSION, type Listing, type ListingRecord, listingKey, MAX_LISTING_TTL_MS } from './listing.ts'
import type { DeleteRange, ScannedUpdate } from './scanned-update.ts'
import { encodeSubset, type GroupSlice } from './update-format.ts'
import {
  type ChainPlan,
  collectionTime,
  DEFAULT_MAX_BYTES_PER_SELLER,
  DEFAULT_MAX_LISTINGS_PER_SELLER,
  type EntryView,
  type ValidationOptions
} from './validate.ts'

export { REMOTE }

/** Defaults for {@link ValidationOptions}: bounded updates, 60 s of clock skew, 5 min grace, per-seller quotas. */
export const DEFAULT_VALIDATION: Omit<ValidationOptions, 'now'> = {
  maxUpdateSize: 1024 * 1024,
  maxStructs: 20_000,
  maxSkewMs: 60_000,
  graceMs: 5 * 60_000,
  maxListingsPerSeller: DEFAULT_MAX_LISTINGS_PER_SELLER,
  maxBytesPerSeller: DEFAULT_MAX_BYTES_PER_SELLER
}

/** What a seller fills in; the document adds the schema version, kind, seller, slot and timestamps. */
export type ListingInput = Omit<Listing, 'v' | 'kind' | 'seller' | 'seq' | 'createdAt' | 'updatedAt' | 'expiresAt'> & {
  /** How long the listing lives without a refresh. @default 10 minutes */
  ttlMs?: number
}

export interface MarketplaceDocEvents {
  'listing:added': CustomEvent<Listing>
  'listing:updated': CustomEvent<Listing>
  'listing:removed': CustomEvent<{ key: string; seller: string; id: string }>
  /** Any change of a key's record (listing, delisting, collection), for views built on several documents. */
  'record:changed': CustomEvent<{ key: string }>
  /** A change to broadcast: `local` is true for this node's own writes. A Yjs v1 update. */
  update: CustomEvent<{ update: Uint8Array; local: boolean }>
}

/** The epoch a document holds: its records' versions must fall in it. */
export interface EpochWindow {
  index: number
  startMs: number
  endMs: number
}

export interface MarketplaceDocInit {
  /** This node's peer id (string). */
  peerId: string
  /** Signs this node's listings. Without it the document is read-only. */
  privateKey?: PrivateKey
  validation?: Partial<Omit<ValidationOptions, 'now' | 'window'>>
  /** Clock, for tests. @default Date.now */
  now?: () => number
  /** A version every remote value of `key` must exceed (what another copy of the marketplace already holds). */
  versionFloor?: (key: string) => number | undefined
  /** The epoch this document holds (see `EpochedMarketplace`); none for a standalone document. */
  epoch?: EpochWindow
}

/**
 * The marketplace as Yjs state with ownership enforced on every remote update (network-agnostic core: bytes in, bytes
 * out). Each entry is a listing or delisting signed by its seller's libp2p key, under `<seller>/<id>`, and each key's
 * versions form one Yjs client's chain, each version in the slot it was signed for.
 */
export class MarketplaceDoc extends TypedEventEmitter<MarketplaceDocEvents> {
  readonly peerId: string
  private readonly key: PrivateKey | undefined
  private readonly store: EntryStore
  private readonly options: Omit<ValidationOptions, 'now'>
  private readonly now: () => number
  private readonly versionFloor: ((key: string) => number | undefined) | undefined
  /** Verified records by key (signatures are checked once, when an entry arrives). */
  private readonly records = new Map<string, SignedRecord>()
  private readonly incoming = new Map<string, SignedRecord>()
  /** Versions of entries collected here recently: a replay of one is refused even though its item is gone. */
  private readonly collected = new Map<string, { version: number; until: number }>()
  /** Versions read from collected last items (a key's next version replaces the item, so this never goes stale). */
  private readonly collectedTails = new WeakMap<Y.Item, number>()
  /** Per seller: keys held in this document (collected ones too) and bytes of their last values. */
  private readonly usage = new Map<string, { keys: number; bytes: number }>()
  private localUpdates: Uint8Array[] | undefined
  private readonly view: EntryView
  private readonly target: ApplyTarget

  constructor(init: MarketplaceDocInit) {
    super()
    this.peerId = init.peerId
    this.key = init.privateKey
    this.now = init.now ?? Date.now
    this.versionFloor = init.versionFloor
    this.options = {
      ...DEFAULT_VALIDATION,
      ...init.validation,
      ...(init.epoch != null ? { window: { startMs: init.epoch.startMs, endMs: init.epoch.endMs } } : {})
    }
    this.store = new EntryStore({
      restingClientId: clientIdOf(init.peerId),
      onChange: (event) => this.onChange(event),
      onUpdate: (update, origin) => {
        if (origin === REMOTE) return // reported once per applied update, below
        if (this.localUpdates != null) this.localUpdates.push(update)
        else this.safeDispatchEvent('update', { detail: { update, local: true } })
      }
    })
    const tailBytes = (client: number) => {
      const tail = this.store.tail(client)
      return tail?.content instanceof Y.ContentBinary ? tail.content.content.byteLength : 0
    }
    this.view = {
      state: (client) => this.store.state(client),
      keyOf: (client) => this.store.keyOf(client),
      tailLive: (client) => this.store.tail(client)?.deleted === false,
      tailBytes,
      current: (key) => this.records.get(key),
      usage: (seller) => this.usage.get(seller) ?? { keys: 0, bytes: 0 }
    }
    this.target = {
      view: this.view,
      shardOf: (client) => this.store.shardOf(client),
      settled: () => this.store.settled(),
      commit: (scan, plans, ranges) => this.commit(scan, plans, ranges)
    }
  }

  /** The Yjs client id this document writes `key` with. */
  clientOf(key: string): number {
    return entryClientId(key)
  }

  /** Signs and publishes (or refreshes) one of this node's listings. */
  async publish(input: ListingInput): Promise<Listing> {
    const [listing] = await this.publishMany([input])
    return listing as Listing
  }

  /** Signs and publishes several of this node's listings as one update (one message on the wire). */
  async publishMany(inputs: readonly ListingInput[]): Promise<Listing[]> {
    const key = this.requireKey()
    const maxTtl = this.options.maxTtlMs ?? MAX_LISTING_TTL_MS
    for (const { ttlMs } of inputs) {
      if (ttlMs != null && (ttlMs <= 0 || ttlMs > maxTtl))
        throw new InvalidListingError(`ttlMs must be in (0, ${maxTtl}]`)
    }
    // One version per key and update: the last input for an id wins.
    const byId = new Map(inputs.map((input) => [input.id, input]))
    const records = await this.writeSigned(key, [...byId.keys()], (id, seq, version) => {
      const { ttlMs, ...fields } = byId.get(id) as ListingInput
      const previous = this.records.get(listingKey(this.peerId, id))?.record
      return {
        ...fields,
        v: LISTING_SCHEMA_VERSION,
        kind: 'listing',
        seller: this.peerId,
        seq,
        createdAt: previous?.kind === 'listing' ? Math.min(previous.createdAt, version) : version,
        updatedAt: version,
        expiresAt: version + (ttlMs ?? 10 * 60_000)
      }
    })
    const out = new Map(records.map((r) => [r.id, r as Listing]))
    return inputs.map((input) => out.get(input.id) as Listing)
  }

  /** Withdraws one of this node's listings immediately (a signed delisting replaces it). */
  async delist(id: string): Promise<void> {
    const key = this.requireKey()
    await this.writeSigned(key, [id], (_, seq, updatedAt) => ({
      v: LISTING_SCHEMA_VERSION,
      kind: 'delisting',
      id,
      seller: this.peerId,
      seq,
      updatedAt
    }))
  }

  /**
   * Signs a new version of each of this node's keys for the slot it will take, and writes them in one update. A write
   * to the same key in between (a concurrent publish) takes the slot: the version is then signed again.
   */
  private async writeSigned(
    key: PrivateKey,
    ids: readonly string[],
    make: (id: string, seq: number, version: number) => ListingRecord
  ): Promise<ListingRecord[]> {
    for (let attempt = 0; ; attempt++) {
      const slots = ids.map((id) => {
        const k = listingKey(this.peerId, id)
        const client = this.clientOf(k)
        return { k, client, seq: this.store.state(client) }
      })
      // One signature for the whole write (a batch signature): each receiver checks one, not one per listing.
      const signed = await signRecords(
        slots.map(({ k, seq }, i) => make(ids[i] as string, seq, this.nextVersion(k))),
        key
      )
      if (slots.some(({ client, seq }) => this.store.state(client) !== seq)) {
        if (attempt < 3) continue
        throw new InvalidListingError('concurrent writes to the same listing')
      }
      this.checkOwnQuota(slots.map((s, i) => ({ ...s, bytes: (signed[i] as SignedRecord).bytes.byteLength })))
      this.local(() => {
        for (const [i, { k }] of slots.entries()) this.incoming.set(k, signed[i] as SignedRecord)
        try {
          this.store.transact((ops) => {
            for (const [i, { k, client }] of slots.entries()) {
              this.account(k, client, (signed[i] as SignedRecord).bytes.byteLength)
              ops.set(k, client, (signed[i] as SignedRecord).bytes)
            }
          })
        } finally {
          this.incoming.clear()
        }
      })
      return signed.map((s) => s.record)
    }
  }

  /** Peers enforce the per-seller quota: refuse to write what they would drop. */
  private checkOwnQuota(writes: ReadonlyArray<{ client: number; bytes: number }>): void {
    const held = this.usage.get(this.peerId) ?? { keys: 0, bytes: 0 }
    let keys = held.keys
    let bytes = held.bytes
    for (const w of writes) {
      if (this.store.state(w.client) === 0) keys++
      bytes += w.bytes - this.view.tailBytes(w.client)
    }
    const maxKeys = this.options.maxListingsPerSeller ?? DEFAULT_MAX_LISTINGS_PER_SELLER
    const maxBytes = this.options.maxBytesPerSeller ?? DEFAULT_MAX_BYTES_PER_SELLER
    if (keys > maxKeys) throw new InvalidListingError(`a seller may hold at most ${maxKeys} listings per epoch`)
    if (bytes > maxBytes)
      throw new InvalidListingError(`a seller may hold at most ${maxBytes} bytes of listings per epoch`)
  }

  /** Counts a key's new last value against its seller's quota (before it is written). */
  private account(key: string, client: number, bytes: number): void {
    const seller = key.slice(0, key.indexOf('/'))
    const usage = this.usage.get(seller) ?? { keys: 0, bytes: 0 }
    if (this.store.state(client) === 0) usage.keys++
    usage.bytes += bytes - this.view.tailBytes(client)
    this.usage.set(seller, usage)
  }

  /** Runs local writes, and reports them as one update. */
  private local(fn: () => void): void {
    const updates: Uint8Array[] = []
    this.localUpdates = updates
    try {
      fn()
    } finally {
      this.localUpdates = undefined
    }
    if (updates.length === 0) return
    const update = updates.length === 1 ? (updates[0] as Uint8Array) : Y.mergeUpdates(updates)
    this.safeDispatchEvent('update', { detail: { update, local: true } })
  }

  private validation(options: ApplyOptions): ValidationOptions {
    return {
      ...this.options,
      ...(options.maxUpdateSize != null ? { maxUpdateSize: options.maxUpdateSize } : {}),
      ...(options.maxStructs != null ? { maxStructs: options.maxStructs } : {}),
      ...(options.preverified != null ? { preverified: options.preverified } : {}),
      now: this.now(),
      knownVersion: (key) => Math.max(this.collected.get(key)?.version ?? -1, this.versionFloor?.(key) ?? -1)
    }
  }

  /**
   * Validates, then applies, an update from the network. Every entry must be its seller's signed record in the slot it
   * was signed for, newer than what this node holds, within its seller's quota (docs/marketplace-threat-model.md).
   * Without `partial`, an update with any entry that fails is rejected whole (`RejectedUpdateError`, nothing applied);
   * with it, the other entries are applied and the failures reported. `maxUpdateSize`/`maxStructs` raise the bounds for
   * a state sync.
   */
  applyRemote(update: Uint8Array, options: ApplyOptions = {}): ApplyResult {
    return this.finish(applyNow(this.target, update, this.validation(options), options.partial !== true))
  }

  /**
   * {@link applyRemote} for large updates (a state sync, a big gossip message) without stalling the node: the update is
   * scanned, parsed and verified in slices of a few milliseconds (signatures on two cores), then applied in steps of at
   * most 128 keys, each checked again against the document as it is then. Same rules, same errors.
   */
  async applyRemoteBulk(update: Uint8Array, options: ApplyOptions = {}): Promise<ApplyResult> {
    const applied = await applyInSteps(this.target, update, this.validation(options), options.partial !== true)
    // A shard this update filled is split in steps too: done before the update counts as applied.
    await this.store.settled()
    return this.finish(applied)
  }

  /** Resolves once no shard split is under way (a split runs in steps of a few milliseconds, in the background). */
  settled(): Promise<void> {
    return this.store.settled()
  }

  /** Applies planned chains and delete ranges. */
  private commit(scan: ScannedUpdate, plans: readonly ChainPlan[], ranges: readonly DeleteRange[]): void {
    if (plans.length === 0 && ranges.length === 0) return
    const runs: GroupSlice[] = []
    for (const p of plans) {
      runs.push({ from: p.from, to: p.to })
      this.account(p.key, p.client, p.bytesAfter)
      if (!p.finalDeleted) this.incoming.set(p.key, { record: p.final.record, bytes: p.final.bytes })
    }
    try {
      this.store.apply(scan, runs, ranges)
    } finally {
      this.incoming.clear()
    }
  }

  /** Reports what an update changed, and collects what arrived collectable. */
  private finish({ scan, plans, dropped, removed, ranges }: Applied): ApplyResult {
    const records = new Map<string, SignedRecord>()
    for (const p of plans) if (!p.finalDeleted) records.set(p.key, { record: p.final.record, bytes: p.final.bytes })
    if (plans.length > 0 || ranges.length > 0) {
      const whole = dropped.length === 0 && ranges.length === scan.ranges
      const update = whole
        ? scan.update
        : encodeSubset(
            scan,
            plans.map((p) => ({ from: p.from, to: p.to })),
            ranges
          )
      this.safeDispatchEvent('update', { detail: { update, local: false } })
    }
    // Collect what arrived already collectable now, rather than relaying it for up to one GC interval more.
    const now = this.now()
    if ([...records.values()].some((r) => collectionTime(r.record, this.options) < now)) this.collectGarbage(now)
    return { records, removed, applied: plans.length, dropped, needsSync: dropped.some((d) => d.kind === 'missing') }
  }

  /** A snapshot of the whole state (a Yjs v2 update), for persistence. */
  snapshot(): Uint8Array {
    return this.store.snapshot()
  }

  /**
   * Restores a {@link snapshot} this node persisted itself, or a part of one (a Yjs v2 update of whole chains); entries
   * are re-verified as they appear. Returns false, and restores nothing, for state of an earlier version of this package
   * (one Yjs client per seller), which peers would refuse: the node resyncs instead.
   */
  restore(snapshot: Uint8Array): boolean {
    if (!this.store.restore(snapshot)) return false
    this.recountUsage()
    return true
  }

  /**
   * Parts of the state (one per shard of the document, numbered 0–72) changed or split since the last call, for
   * persistence: a node re-encodes only those ({@link part}), never its whole state at once.
   */
  changedParts(): number[] {
    return this.store.takeDirty()
  }

  /** Marks parts changed again: their {@link part} could not be stored. */
  markChanged(parts: Iterable<number>): void {
    this.store.markDirty(parts)
  }

  /**
   * One part of the state (a shard: 0–72, see {@link changedParts}) as a Yjs v1 update, for {@link restoreParts};
   * `undefined` for a part that no longer exists (its shard was split: a stored copy is to be deleted).
   */
  part(index: number): Uint8Array | undefined {
    return this.store.shardSnapshot(index)
  }

  /**
   * Restores parts this node persisted itself ({@link part}); each is restored or skipped whole (an unreadable one, or
   * one of an earlier package version). Returns how many were restored. Restored parts do not count as changed.
   */
  restoreParts(parts: Iterable<Uint8Array>): number {
    let restored = 0
    for (const update of parts) {
      if (this.store.restoreV1(update)) restored++
      // A part that tips a shard over splits it now, before the next part lands in it (nothing is served yet).
      this.store.growNow()
    }
    this.store.takeDirty()
    this.recountUsage()
    return restored
  }

  /**
   * Replays updates this node logged itself after its parts were stored, in order, key by key: a key whose chain does
   * not continue what the document holds (an earlier record of it was lost) keeps the version it has — a sync brings the
   * rest — and every other key of the update is restored. Replayed parts count as changed. Returns the indices of the
   * updates not wholly restored (their content is not all in the document: keep them, see {@link holds}).
   */
  restoreLog(updates: Iterable<Uint8Array>): number[] {
    const incomplete: number[] = []
    let i = 0
    for (const update of updates) {
      if (this.store.replayV1(update) !== 'whole') incomplete.push(i)
      i++
    }
    this.recountUsage()
    return incomplete
  }

  /** Whether the document holds all the entries of an update (a logged one: whether it can be forgotten). */
  holds(update: Uint8Array): boolean {
    return this.store.holds(update)
  }

  /** Bytes of the signed records this document holds (its size on disk, roughly). */
  storedBytes(): number {
    let bytes = 0
    for (const usage of this.usage.values()) bytes += usage.bytes
    return bytes
  }

  /**
   * Per-seller usage, recounted from what the store holds. Restored keys whose last entry was collected are reported
   * (`record:changed`, no listing event): Yjs reports nothing for an entry that arrives deleted, and a view over several
   * epochs must learn that the key's collected version supersedes older ones elsewhere.
   */
  private recountUsage(): void {
    this.usage.clear()
    for (const [key, item] of this.store.items()) {
      if (item.deleted) this.safeDispatchEvent('record:changed', { detail: { key } })
      const seller = key.slice(0, key.indexOf('/'))
      const usage = this.usage.get(seller) ?? { keys: 0, bytes: 0 }
      usage.keys++
      usage.bytes += item.content instanceof Y.ContentBinary ? item.content.content.byteLength : 0
      this.usage.set(seller, usage)
    }
  }

  /** The state vector, for sync. */
  stateVector(): Uint8Array {
    return this.store.stateVector()
  }

  /** Everything a peer with `stateVector` lacks (all state when absent), as a Yjs v1 update. */
  diff(stateVector?: Uint8Array): Uint8Array {
    return this.store.diff(stateVector)
  }

  /**
   * {@link diff} in parts of about `chunkSize` bytes (each a Yjs v1 update of whole keys, valid on its own), encoded one
   * part at a time: for a sync, so that a large state is neither encoded nor cut up in one go. `stateVector`: the
   * peer's, as one Yjs v1 state vector or in parts (each a state vector of some of its clients, as a sync receives it).
   */
  diffChunks(stateVector?: Uint8Array | readonly Uint8Array[], chunkSize?: number): Generator<Uint8Array> {
    return this.store.diffChunks(stateVector, chunkSize)
  }

  /** The signed bytes a key currently holds (live entries only). */
  entry(key: string): Uint8Array | undefined {
    return this.store.get(key, this.clientOf(key))
  }

  /** Every live entry: key and signed bytes. */
  entries(): IterableIterator<[string, Uint8Array]> {
    return this.store.entries()
  }

  /** Live, unexpired listings. */
  listings(now = this.now()): Listing[] {
    const out: Listing[] = []
    for (const { record } of this.records.values()) {
      if (record.kind === 'listing' && record.expiresAt > now) out.push(record)
    }
    return out
  }

  /** The current signed record (listing or delisting, expired or not) of a key. */
  record(key: string): ListingRecord | undefined {
    return this.records.get(key)?.record
  }

  /** Every current record (listings and delistings, expired or not). */
  allRecords(): IterableIterator<[string, ListingRecord]> {
    const entries = this.records.entries()
    return (function* () {
      for (const [key, signed] of entries) yield [key, signed.record] as [string, ListingRecord]
    })()
  }

  /** One live listing by key (`<seller>/<id>`). */
  get(key: string, now = this.now()): Listing | undefined {
    const record = this.records.get(key)?.record
    return record?.kind === 'listing' && record.expiresAt > now ? record : undefined
  }

  /**
   * The version of a key's last entry when that entry was collected here: the store keeps a collected entry's signed
   * record (see `EntryStore`), so this holds across restarts. A version at or below it is superseded, in this document
   * and in any other epoch's (`EpochedMarketplace`). `undefined` while the key is live, or never held.
   */
  collectedVersion(key: string): number | undefined {
    const tail = this.store.tail(this.clientOf(key))
    if (tail == null || !tail.deleted || !(tail.content instanceof Y.ContentBinary)) return undefined
    let version = this.collectedTails.get(tail)
    if (version == null) {
      try {
        // Read once per item, without its signature: it was verified when it arrived, and the item holds this node's
        // own state (a restart reads thousands of them).
        const { record } = parseRecord(tail.content.content)
        version = listingKey(record.seller, record.id) === key ? record.updatedAt : -1
      } catch {
        version = -1
      }
      this.collectedTails.set(tail, version)
    }
    return version < 0 ? undefined : version
  }

  /** Keys and bytes a seller holds in this document, as counted against its quota. */
  sellerUsage(seller: string): { keys: number; bytes: number } {
    return { ...(this.usage.get(seller) ?? { keys: 0, bytes: 0 }) }
  }

  /**
   * Deletes entries every node may collect: listings expired past the grace period and old delistings. Returns the
   * number removed; the deletion propagates as an ordinary update.
   */
  collectGarbage(now = this.now()): number {
    const doomed: Array<[string, number]> = []
    for (const [key, { record }] of this.records) {
      if (collectionTime(record, this.options) < now) doomed.push([key, record.updatedAt])
    }
    if (doomed.length > 0) {
      this.local(() =>
        this.store.transact((ops) => {
          for (const [key] of doomed) ops.del(key, this.clientOf(key))
        })
      )
    }
    for (const [key, version] of doomed) this.collected.set(key, { version, until: now + 2 * this.options.graceMs })
    for (const [key, { until }] of this.collected) if (until < now) this.collected.delete(key)
    return doomed.length
  }

  private requireKey(): PrivateKey {
    if (this.key == null) throw new InvalidListingError('this marketplace document has no signing key')
    return this.key
  }

  /** Versions are unix ms and strictly increase per key, even for two writes in one millisecond. */
  private nextVersion(key: string): number {
    const previous = this.records.get(key)?.record.updatedAt ?? -1
    return Math.max(this.now(), previous + 1)
  }

  /**
   * Dispatches a change event only when someone listens: a late joiner's sync reports 100,000 of them, and building
   * the events nobody hears cost ≈ 1 s of a 100,000-listing sync.
   */
  private report<K extends 'listing:added' | 'listing:updated' | 'listing:removed' | 'record:changed'>(
    type: K,
    detail: MarketplaceDocEvents[K]['detail']
  ): void {
    if (this.listenerCount(type) > 0) this.safeDispatchEvent(type, { detail } as never)
  }

  private onChange(event: Y.YMapEvent<Uint8Array>): void {
    try {
      this.applyChanges(event)
    } finally {
      for (const [key] of event.changes.keys) this.report('record:changed', { key })
    }
  }

  private applyChanges(event: Y.YMapEvent<Uint8Array>): void {
    for (const [key, change] of event.changes.keys) {
      const seller = key.slice(0, key.indexOf('/'))
      const id = key.slice(key.indexOf('/') + 1)
      if (change.action === 'delete') {
        const had = this.records.get(key)?.record.kind === 'listing'
        this.records.delete(key)
        if (had) this.report('listing:removed', { key, seller, id })
        continue
      }
      const bytes = event.target.get(key)
      let signed = this.incoming.get(key)
      // Keep Yjs' own copy of the bytes: a remote record's are a view into the whole update it arrived in.
      if (signed != null && bytes != null) signed = { record: signed.record, bytes }
      if (signed == null && bytes != null) {
        try {
          signed = verifyRecord(bytes)
        } catch {
          signed = undefined // restored state is re-verified; an unreadable entry is ignored
        }
      }
      if (signed == null) continue
      const before = this.records.get(key)?.record
      this.records.set(key, signed)
      const r = signed.record
      if (r.kind === 'delisting') {
        if (before?.kind === 'listing') this.report('listing:removed', { key, seller, id })
      } else if (before?.kind === 'listing') {
        this.report('listing:updated', r)
      } else {
        this.report('listing:added', r)
      }
    }
  }
}
