import type { AbortOptions } from '@libp2p/interface'
import type { Batch, Datastore } from 'interface-datastore'
import { JsonStore } from '../store/json-store.ts'
import type { ChallengeRecord } from '../store/records.ts'

/** Options for a {@link ChallengeBook}. */
export interface ChallengeBookInit {
  /** Most challenges stored at once, across all peers (answered or not). */
  maxStored: number
  /** How long a challenge is kept after it expired (ms). */
  retentionMs: number
}

/**
 * The challenges a server issued (spec §4.2, §7.4), persisted in the datastore, with a **global** bound: peer ids are
 * free, so a per-peer limit alone does not bound storage. Beyond `maxStored` the oldest challenge is evicted, which is
 * harmless: a payment for an evicted challenge is checked as a preemptive one (its nonce was never seen), and a paid
 * call's idempotency lives in its call record, not in its challenge. Expired challenges are kept `retentionMs` only.
 */
export class ChallengeBook {
  private readonly store: JsonStore<ChallengeRecord>
  private readonly init: ChallengeBookInit
  /** Stored challenges by key, in issue order, with the time they may be deleted (unix ms). */
  private readonly stored = new Map<string, number>()

  constructor(datastore: Datastore, init: ChallengeBookInit) {
    this.store = new JsonStore(datastore, '/betar/x402/challenges')
    this.init = init
  }

  /** Challenges currently stored. */
  get size(): number {
    return this.stored.size
  }

  /** Rebuilds the index from the datastore (at start). */
  async load(options: AbortOptions = {}): Promise<void> {
    this.stored.clear()
    const now = Date.now()
    const found: Array<[string, number]> = []
    for await (const { id, value } of this.store.entries(options)) {
      const until = this.expiry(value)
      if (until > now) found.push([id, until])
    }
    found.sort((a, b) => a[1] - b[1])
    for (const [id, at] of found) this.stored.set(id, at)
  }

  get(key: string, options: AbortOptions = {}): Promise<ChallengeRecord | undefined> {
    return this.store.get(key, options)
  }

  /** Stores a new challenge, evicting the oldest ones beyond the bound. */
  async issue(key: string, record: ChallengeRecord, options: AbortOptions = {}): Promise<void> {
    this.prune()
    this.stored.delete(key)
    while (this.stored.size >= this.init.maxStored) {
      const oldest = this.stored.keys().next().value as string
      this.stored.delete(oldest)
      await this.store.delete(oldest, options)
    }
    this.stored.set(key, this.expiry(record))
    await this.store.put(key, record, this.expiry(record), options)
  }

  /** Marks a challenge consumed now (one attempt per challenge, spec §5 step 8a). */
  async consume(key: string, record: ChallengeRecord, options: AbortOptions = {}): Promise<void> {
    if (!this.stored.has(key)) return // evicted meanwhile: nothing to mark
    await this.store.put(key, { ...record, consumed: true }, this.expiry(record), options)
  }

  /** Adds "mark consumed" to an atomic batch (the reservation). */
  consumeInto(batch: Batch, key: string, record: ChallengeRecord): void {
    if (!this.stored.has(key)) return // evicted meanwhile: nothing to mark
    batch.put(this.store.key(key), this.store.encode({ ...record, consumed: true }, this.expiry(record)))
  }

  /** Deletes expired challenges (past their retention); returns how many. */
  gc(now = Date.now(), options: AbortOptions = {}): Promise<number> {
    this.prune(now)
    return this.store.gc(now, options)
  }

  private expiry(record: ChallengeRecord): number {
    return record.expiresAt * 1000 + this.init.retentionMs
  }

  private prune(now = Date.now()): void {
    for (const [key, at] of this.stored) {
      if (at > now) break // issue order: the rest expire later
      this.stored.delete(key)
    }
  }
}
