import { type PrivateKey, TypedEventEmitter } from '@libp2p/interface'
import * as Y from 'yjs'
import { InvalidListingError } from '../errors.ts'
import { clientIdOf } from './client-id.ts'
import { preverify, type SignedRecord, signRecord, verifyRecord } from './envelope.ts'
import { LISTING_SCHEMA_VERSION, type Listing, type ListingRecord, listingKey, MAX_LISTING_TTL_MS } from './listing.ts'
import { binaryEntries } from './parallel-verify.ts'
import {
  collectionTime,
  LISTINGS_MAP,
  type ValidatedUpdate,
  type ValidationOptions,
  validateUpdate
} from './validate.ts'

/** Marks changes that came from the network, so they are not echoed back. */
export const REMOTE = Symbol('betar/marketplace/remote')

/** Defaults for {@link ValidationOptions}: bounded updates, 60 s of clock skew, 5 min grace after expiry. */
export const DEFAULT_VALIDATION: Omit<ValidationOptions, 'now'> = {
  maxUpdateSize: 1024 * 1024,
  maxStructs: 20_000,
  maxSkewMs: 60_000,
  graceMs: 5 * 60_000
}

/** What a seller fills in; the document adds the schema version, kind, seller and timestamps. */
export type ListingInput = Omit<Listing, 'v' | 'kind' | 'seller' | 'createdAt' | 'updatedAt' | 'expiresAt'> & {
  /** How long the listing lives without a refresh. @default 10 minutes */
  ttlMs?: number
}

export interface MarketplaceDocEvents {
  'listing:added': CustomEvent<Listing>
  'listing:updated': CustomEvent<Listing>
  'listing:removed': CustomEvent<{ key: string; seller: string; id: string }>
  /** Any change of a key's record (listing, delisting, collection), for views built on several documents. */
  'record:changed': CustomEvent<{ key: string }>
  /** A change to broadcast: `local` is true for this node's own writes. */
  update: CustomEvent<{ update: Uint8Array; local: boolean }>
}

export interface MarketplaceDocInit {
  /** This node's peer id (string): its writes use the client id bound to it. */
  peerId: string
  /** Signs this node's listings. Without it the document is read-only. */
  privateKey?: PrivateKey
  validation?: Partial<Omit<ValidationOptions, 'now'>>
  /** Clock, for tests. @default Date.now */
  now?: () => number
  /** A version every remote value of `key` must exceed (what another copy of the marketplace already holds). */
  versionFloor?: (key: string) => number | undefined
}

/**
 * The marketplace as a Yjs document with ownership enforced on every remote update (network-agnostic core: bytes in,
 * bytes out). Each entry is a listing or delisting signed by its seller's libp2p key, under `<seller>/<id>`.
 */
export class MarketplaceDoc extends TypedEventEmitter<MarketplaceDocEvents> {
  readonly doc: Y.Doc
  readonly peerId: string
  private readonly key: PrivateKey | undefined
  private readonly map: Y.Map<Uint8Array>
  private readonly options: Omit<ValidationOptions, 'now'>
  private readonly now: () => number
  private readonly versionFloor: ((key: string) => number | undefined) | undefined
  /** Verified records by key (signatures are checked once, when an entry arrives). */
  private readonly records = new Map<string, SignedRecord>()
  private readonly incoming = new Map<string, SignedRecord>()
  /** Versions of entries collected here recently: a replay of one is refused even though its item is gone. */
  private readonly collected = new Map<string, { version: number; until: number }>()

  constructor(init: MarketplaceDocInit) {
    super()
    this.peerId = init.peerId
    this.key = init.privateKey
    this.now = init.now ?? Date.now
    this.versionFloor = init.versionFloor
    this.options = { ...DEFAULT_VALIDATION, ...init.validation }
    // Keep the signed content of each key's last entry even once it is deleted (collected): a replica that missed the
    // entry can still receive it, signed, in a sync, and its version keeps stale copies out. Older versions are trimmed.
    this.doc = new Y.Doc({
      gc: true,
      gcFilter: (item) => !(item.parentSub != null && item.right == null && item.content instanceof Y.ContentBinary)
    })
    this.doc.clientID = clientIdOf(init.peerId)
    this.map = this.doc.getMap<Uint8Array>(LISTINGS_MAP)
    this.map.observe((event) => this.onChange(event))
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      this.safeDispatchEvent('update', { detail: { update, local: origin !== REMOTE } })
    })
  }

  /** Signs and publishes (or refreshes) one of this node's listings. */
  async publish(input: ListingInput): Promise<Listing> {
    const [listing] = await this.publishMany([input])
    return listing as Listing
  }

  /** Signs and publishes several of this node's listings as one update (one message on the wire). */
  async publishMany(inputs: readonly ListingInput[]): Promise<Listing[]> {
    const key = this.requireKey()
    const signed: SignedRecord[] = []
    for (const input of inputs) {
      const now = this.nextVersion(listingKey(this.peerId, input.id))
      const { ttlMs, ...fields } = input
      const ttl = ttlMs ?? 10 * 60_000
      const maxTtl = this.options.maxTtlMs ?? MAX_LISTING_TTL_MS
      if (ttl <= 0 || ttl > maxTtl) throw new InvalidListingError(`ttlMs must be in (0, ${maxTtl}]`)
      const previous = this.records.get(listingKey(this.peerId, input.id))?.record
      const listing: Listing = {
        ...fields,
        v: LISTING_SCHEMA_VERSION,
        kind: 'listing',
        seller: this.peerId,
        createdAt: previous?.kind === 'listing' ? previous.createdAt : now,
        updatedAt: now,
        expiresAt: now + ttl
      }
      signed.push(await signRecord(listing, key))
    }
    this.doc.transact(() => {
      for (const s of signed) this.write(s)
    })
    return signed.map((s) => s.record as Listing)
  }

  /** Withdraws one of this node's listings immediately (a signed delisting replaces it). */
  async delist(id: string): Promise<void> {
    const key = this.requireKey()
    const updatedAt = this.nextVersion(listingKey(this.peerId, id))
    this.write(
      await signRecord({ v: LISTING_SCHEMA_VERSION, kind: 'delisting', id, seller: this.peerId, updatedAt }, key)
    )
  }

  /**
   * Validates, then applies, an update from the network. Throws `RejectedUpdateError` and leaves the document untouched
   * when the update breaks a rule. `limits` raise the size bounds for a full-state sync.
   */
  applyRemote(
    update: Uint8Array,
    limits: Partial<Pick<ValidationOptions, 'maxUpdateSize' | 'maxStructs' | 'preverified'>> = {}
  ): ValidatedUpdate {
    const result = validateUpdate(this.doc, update, {
      ...this.options,
      ...limits,
      now: this.now(),
      knownVersion: (key) => Math.max(this.collected.get(key)?.version ?? -1, this.versionFloor?.(key) ?? -1)
    })
    for (const [key, signed] of result.records) this.incoming.set(key, signed)
    try {
      Y.applyUpdate(this.doc, update, REMOTE)
    } finally {
      this.incoming.clear()
      this.keepClientId()
    }
    // Collect what arrived already collectable now, rather than relaying it for up to one GC interval more.
    const now = this.now()
    if ([...result.records.values()].some((r) => collectionTime(r.record, this.options) < now)) this.collectGarbage(now)
    return result
  }

  /**
   * {@link applyRemote} for large updates (a full-state sync): signatures are first verified on two cores. Same rules,
   * same errors.
   */
  async applyRemoteBulk(
    update: Uint8Array,
    limits: Partial<Pick<ValidationOptions, 'maxUpdateSize' | 'maxStructs'>> = {}
  ): Promise<ValidatedUpdate> {
    if (update.byteLength > (limits.maxUpdateSize ?? this.options.maxUpdateSize)) {
      return this.applyRemote(update, limits)
    }
    const preverified = await preverify(binaryEntries(update))
    return this.applyRemote(update, { ...limits, preverified })
  }

  /** A compact snapshot of the whole document (Yjs update format v2), for persistence. */
  snapshot(): Uint8Array {
    return Y.encodeStateAsUpdateV2(this.doc)
  }

  /** Restores a {@link snapshot} this node persisted itself (entries are re-verified as they appear). */
  restore(snapshot: Uint8Array): void {
    try {
      Y.applyUpdateV2(this.doc, snapshot, REMOTE)
    } finally {
      this.keepClientId()
    }
  }

  /**
   * Yjs gives a document a random client id when a remote transaction carries items of its own id ("another client
   * seems to be using it") — which is exactly what a restarted seller's own persisted state, or its items synced back
   * from a peer, are. Here the id is bound to the peer (validators refuse anything else), and its clock continues from
   * the items it just learnt, so the bound id is put back.
   */
  private keepClientId(): void {
    this.doc.clientID = clientIdOf(this.peerId)
  }

  /** The state vector, for sync. */
  stateVector(): Uint8Array {
    return Y.encodeStateVector(this.doc)
  }

  /** Everything a peer with `stateVector` lacks (all state when absent). */
  diff(stateVector?: Uint8Array): Uint8Array {
    return Y.encodeStateAsUpdate(this.doc, stateVector)
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
   * Deletes entries every node may collect: listings expired past the grace period and old delistings. Returns the
   * number removed; the deletion propagates as an ordinary update.
   */
  collectGarbage(now = this.now()): number {
    const doomed: Array<[string, number]> = []
    for (const [key, { record }] of this.records) {
      if (collectionTime(record, this.options) < now) doomed.push([key, record.updatedAt])
    }
    if (doomed.length > 0) {
      this.doc.transact(() => {
        for (const [key] of doomed) this.map.delete(key)
      })
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

  private write(signed: SignedRecord): void {
    const key = listingKey(signed.record.seller, signed.record.id)
    this.incoming.set(key, signed)
    try {
      this.map.set(key, signed.bytes)
    } finally {
      this.incoming.delete(key)
    }
  }

  private onChange(event: Y.YMapEvent<Uint8Array>): void {
    try {
      this.applyChanges(event)
    } finally {
      for (const [key] of event.changes.keys) this.safeDispatchEvent('record:changed', { detail: { key } })
    }
  }

  private applyChanges(event: Y.YMapEvent<Uint8Array>): void {
    for (const [key, change] of event.changes.keys) {
      const seller = key.slice(0, key.indexOf('/'))
      const id = key.slice(key.indexOf('/') + 1)
      if (change.action === 'delete') {
        const had = this.records.get(key)?.record.kind === 'listing'
        this.records.delete(key)
        if (had) this.safeDispatchEvent('listing:removed', { detail: { key, seller, id } })
        continue
      }
      const bytes = this.map.get(key)
      let signed = this.incoming.get(key)
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
        if (before?.kind === 'listing') this.safeDispatchEvent('listing:removed', { detail: { key, seller, id } })
      } else if (before?.kind === 'listing') {
        this.safeDispatchEvent('listing:updated', { detail: r })
      } else {
        this.safeDispatchEvent('listing:added', { detail: r })
      }
    }
  }
}
