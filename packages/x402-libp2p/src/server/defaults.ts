import type { AbortOptions } from '@libp2p/interface'
import type { Batch, Datastore } from 'interface-datastore'
import { JsonStore } from '../store/json-store.ts'

/** Why a payer is in default, as persisted. */
export interface PayerDefault {
  /** Unix ms when its first deferred settlement failed. */
  since: number
  /** The call whose settlement failed (`peer/correlationId`). */
  call: string
  /** The settlement's reason (e.g. `transaction_reverted`, `authorization_canceled`). */
  reason: string
}

/** One deferred call whose settlement failed for its payer's doing: what puts the payer in default. */
export interface PayerFailure extends PayerDefault {
  /** The payer (lower-case address). */
  payer: string
  /** Unix ms of the authorization's `validBefore`. */
  validBefore: number
  /** Unix ms when the operator cleared the default it caused; it never counts again. */
  cleared?: number
}

/** An unsettled failure is kept until cleared, whatever the record TTL. */
const KEEP = Number.MAX_SAFE_INTEGER

/**
 * Payers whose `deferred` settlement failed for their own doing (spec §7.7): the seller ran their handlers on credit
 * and the payer made the transfer fail. Such a payer's deferred calls are refused until the default is cleared
 * ({@link X402Server.clearDefault}).
 *
 * Kept as one entry per failed call (`/betar/x402/payer-failures/<payer>/<call>`), so that the failure is written in
 * the same datastore batch as the call's terminal record — before the call's credit is released — and so that
 * clearing a default settles the failures that caused it: a failure cleared never counts again (the resolver looking
 * at the same still-pending call again does not undo the clear), only a new call's failure does. A cleared failure is
 * kept as long as its call can still be looked at. Entries of earlier versions (`/betar/x402/defaults/<payer>`) are
 * still honoured until cleared.
 */
export class PayerDefaults {
  private readonly store: JsonStore<PayerFailure>
  private readonly legacy: JsonStore<PayerDefault>
  private readonly ttlMs: number
  /** Failures by payer, then by call. */
  private readonly failures = new Map<string, Map<string, PayerFailure>>()
  private readonly legacyDefaults = new Map<string, PayerDefault>()

  /** `ttlMs`: how long a cleared failure is kept after its authorization's `validBefore` or the clear (the record TTL). */
  constructor(datastore: Datastore, ttlMs: number) {
    this.store = new JsonStore(datastore, '/betar/x402/payer-failures')
    this.legacy = new JsonStore(datastore, '/betar/x402/defaults')
    this.ttlMs = ttlMs
  }

  async load(options: AbortOptions = {}): Promise<void> {
    this.failures.clear()
    this.legacyDefaults.clear()
    for await (const { value } of this.store.entries(options)) this.remember(value)
    for await (const { id, value } of this.legacy.entries(options)) this.legacyDefaults.set(id, value)
  }

  /** Why `payer` is in default (its first failure not cleared), or `undefined`. */
  get(payer: string): PayerDefault | undefined {
    const key = payer.toLowerCase()
    const legacy = this.legacyDefaults.get(key)
    if (legacy != null) return legacy
    let first: PayerFailure | undefined
    for (const f of this.failures.get(key)?.values() ?? []) {
      if (f.cleared == null && (first == null || f.since < first.since)) first = f
    }
    return first == null ? undefined : { since: first.since, call: first.call, reason: first.reason }
  }

  /** Whether the failure of `call` is accounted for already (marked — and perhaps cleared since). */
  has(payer: string, call: string): boolean {
    return this.failures.get(payer.toLowerCase())?.has(call) === true
  }

  /**
   * Adds a call's failure to `batch` (written with the call's terminal record) and counts it at once: from now on the
   * payer's deferred calls are refused, before the batch is even committed. `false` when it was accounted for already.
   */
  markInto(batch: Batch, failure: Omit<PayerFailure, 'cleared'>): boolean {
    const entry: PayerFailure = { ...failure, payer: failure.payer.toLowerCase() }
    if (this.has(entry.payer, entry.call)) return false
    this.remember(entry)
    batch.put(this.store.key(this.id(entry)), this.store.encode(entry, KEEP))
    return true
  }

  /** Marks a call's failure on its own (a pending call whose transfer failed for its payer's doing). */
  async mark(failure: Omit<PayerFailure, 'cleared'>): Promise<boolean> {
    const entry: PayerFailure = { ...failure, payer: failure.payer.toLowerCase() }
    if (this.has(entry.payer, entry.call)) return false
    this.remember(entry)
    await this.store.put(this.id(entry), entry, KEEP)
    return true
  }

  /**
   * Clears `payer`'s default: every failure marked so far is settled (kept as cleared while its call can still be
   * looked at, so it never counts again). Resolves with whether the payer was in default.
   */
  async clear(payer: string): Promise<boolean> {
    const key = payer.toLowerCase()
    const had = this.get(key) != null
    const now = Date.now()
    const writes: Array<Promise<void>> = []
    for (const f of this.failures.get(key)?.values() ?? []) {
      if (f.cleared != null) continue
      f.cleared = now
      writes.push(this.store.put(this.id(f), f, Math.max(now, f.validBefore) + this.ttlMs))
    }
    if (this.legacyDefaults.delete(key)) writes.push(this.legacy.delete(key))
    await Promise.all(writes)
    return had
  }

  /** Forgets cleared failures past their keeping time; returns how many entries were deleted. */
  async gc(now = Date.now()): Promise<number> {
    for (const [payer, calls] of this.failures) {
      for (const [call, f] of calls) {
        if (f.cleared != null && Math.max(f.cleared, f.validBefore) + this.ttlMs <= now) calls.delete(call)
      }
      if (calls.size === 0) this.failures.delete(payer)
    }
    return this.store.gc(now)
  }

  private remember(entry: PayerFailure): void {
    let calls = this.failures.get(entry.payer)
    if (calls == null) {
      calls = new Map()
      this.failures.set(entry.payer, calls)
    }
    calls.set(entry.call, entry)
  }

  private id(entry: PayerFailure): string {
    return `${entry.payer}/${entry.call}`
  }
}
