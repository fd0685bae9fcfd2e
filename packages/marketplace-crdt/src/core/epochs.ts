import { type PrivateKey, TypedEventEmitter } from '@libp2p/interface'
import { type Listing, type ListingRecord, MAX_LISTING_TTL_MS } from './listing.ts'
import { type ListingInput, MarketplaceDoc, type MarketplaceDocEvents } from './marketplace-doc.ts'
import type { ValidationOptions } from './validate.ts'

export interface EpochsInit {
  peerId: string
  privateKey?: PrivateKey
  /** Length of an epoch; also the longest a listing may live. All nodes of a marketplace must agree. @default 24 h */
  epochMs?: number
  validation?: Partial<Omit<ValidationOptions, 'now' | 'maxTtlMs'>>
  now?: () => number
}

export type EpochsEvents = Pick<MarketplaceDocEvents, 'listing:added' | 'listing:updated' | 'listing:removed'> & {
  /** A document change to broadcast, with its epoch. */
  update: CustomEvent<{ epoch: number; update: Uint8Array; local: boolean }>
  /** A new epoch document was opened, or an old one dropped. */
  'epoch:open': CustomEvent<number>
  'epoch:drop': CustomEvent<number>
}

/**
 * The marketplace as one {@link MarketplaceDoc} per epoch, so that state stays bounded: writes go to the current
 * epoch's document, sellers re-publish their live listings into each new epoch, and a node holds only the current and
 * the previous epoch. Since a listing lives at most one epoch, a dropped document holds only expired entries. Queries
 * see one merged view: per key, the record with the highest version across epochs — none when the highest version was
 * collected (a collected version is a floor in every epoch: older versions neither show nor are accepted again).
 */
export class EpochedMarketplace extends TypedEventEmitter<EpochsEvents> {
  readonly epochMs: number
  private readonly init: EpochsInit
  private readonly now: () => number
  private readonly docs = new Map<number, MarketplaceDoc>()
  /** The merged view: per key, the newest record across epochs. */
  private readonly view = new Map<string, ListingRecord>()

  constructor(init: EpochsInit) {
    super()
    this.init = init
    this.now = init.now ?? Date.now
    this.epochMs = init.epochMs ?? MAX_LISTING_TTL_MS
    this.rotate()
  }

  /** The epoch of `time`. */
  epochOf(time = this.now()): number {
    return Math.floor(time / this.epochMs)
  }

  /** Epochs held, oldest first. */
  epochs(): number[] {
    return [...this.docs.keys()].sort((a, b) => a - b)
  }

  /** The document of an epoch this node holds or accepts (previous, current, next); `undefined` outside that window. */
  doc(epoch: number): MarketplaceDoc | undefined {
    const current = this.epochOf()
    if (epoch < current - 1 || epoch > current + 1) return undefined
    let doc = this.docs.get(epoch)
    if (doc == null) {
      doc = this.open(epoch)
    }
    return doc
  }

  /** Opens the current epoch (and keeps the previous), drops older ones. Returns the epochs dropped. */
  rotate(): number[] {
    const current = this.epochOf()
    if (!this.docs.has(current)) this.open(current)
    const dropped: number[] = []
    for (const epoch of [...this.docs.keys()]) {
      if (epoch < current - 1) {
        this.docs.delete(epoch)
        dropped.push(epoch)
        this.safeDispatchEvent('epoch:drop', { detail: epoch })
      }
    }
    if (dropped.length > 0) this.rebuildView()
    return dropped
  }

  /** Publishes this node's listings into the current epoch. */
  publishMany(inputs: readonly ListingInput[]): Promise<Listing[]> {
    this.rotate()
    return this.current().publishMany(inputs)
  }

  /** Withdraws one of this node's listings (a signed delisting in the current epoch). */
  delist(id: string): Promise<void> {
    this.rotate()
    return this.current().delist(id)
  }

  /** Live, unexpired listings of the merged view. */
  listings(now = this.now()): Listing[] {
    const out: Listing[] = []
    for (const record of this.view.values()) if (record.kind === 'listing' && record.expiresAt > now) out.push(record)
    return out
  }

  get(key: string, now = this.now()): Listing | undefined {
    const record = this.view.get(key)
    return record?.kind === 'listing' && record.expiresAt > now ? record : undefined
  }

  /** Collects expired entries in every held epoch, and rotates. */
  collectGarbage(): number {
    this.rotate()
    let n = 0
    for (const doc of this.docs.values()) n += doc.collectGarbage()
    return n
  }

  private current(): MarketplaceDoc {
    return this.doc(this.epochOf()) as MarketplaceDoc
  }

  private open(epoch: number): MarketplaceDoc {
    const doc = new MarketplaceDoc({
      peerId: this.init.peerId,
      ...(this.init.privateKey != null ? { privateKey: this.init.privateKey } : {}),
      validation: { ...this.init.validation, maxTtlMs: this.epochMs },
      // Entries are bound to their epoch: versions must fall in it.
      epoch: { index: epoch, startMs: epoch * this.epochMs, endMs: (epoch + 1) * this.epochMs },
      now: this.now,
      // A value must be newer than what another epoch holds or collected for the key: no rollback across epochs. (Only
      // a later epoch can hold a newer version: versions fall in their epoch.)
      versionFloor: (key) => {
        let floor: number | undefined
        for (const [e, other] of this.docs) {
          if (e <= epoch) continue
          for (const v of [other.record(key)?.updatedAt, other.collectedVersion(key)]) {
            if (v != null && (floor == null || v > floor)) floor = v
          }
        }
        return floor
      }
    })
    this.docs.set(epoch, doc)
    doc.addEventListener('record:changed', (e) => this.refresh(e.detail.key))
    doc.addEventListener('update', (e) => this.safeDispatchEvent('update', { detail: { epoch, ...e.detail } }))
    this.safeDispatchEvent('epoch:open', { detail: epoch })
    return doc
  }

  /** Recomputes one key of the merged view and reports the change. */
  private refresh(key: string): void {
    let newest: ListingRecord | undefined
    let from = -1
    for (const [epoch, doc] of this.docs) {
      const r = doc.record(key)
      if (r != null && (newest == null || r.updatedAt > newest.updatedAt)) {
        newest = r
        from = epoch
      }
    }
    // A collected version supersedes every older one: once it is gone, an older record of another epoch (which the
    // seller replaced) must not show again. Only a later epoch can hold a newer one (versions fall in their epoch).
    for (const [epoch, doc] of this.docs) {
      if (newest == null || epoch <= from) continue
      if (newest.updatedAt <= (doc.collectedVersion(key) ?? -1)) newest = undefined
    }
    const before = this.view.get(key)
    if (newest == null) this.view.delete(key)
    else this.view.set(key, newest)
    const was = before?.kind === 'listing'
    const is = newest?.kind === 'listing'
    if (is && !was) {
      if (this.listenerCount('listing:added') > 0)
        this.safeDispatchEvent('listing:added', { detail: newest as Listing })
    } else if (is && was && newest?.updatedAt !== before?.updatedAt)
      this.safeDispatchEvent('listing:updated', { detail: newest as Listing })
    else if (!is && was) {
      const slash = key.indexOf('/')
      this.safeDispatchEvent('listing:removed', {
        detail: { key, seller: key.slice(0, slash), id: key.slice(slash + 1) }
      })
    }
  }

  private rebuildView(): void {
    const keys = new Set(this.view.keys())
    for (const doc of this.docs.values()) for (const [key] of doc.allRecords()) keys.add(key)
    for (const key of keys) this.refresh(key)
  }
}
