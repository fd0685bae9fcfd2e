import type { AbortOptions } from '@libp2p/interface'
import type { Batch, Datastore } from 'interface-datastore'
import { JsonStore } from '../store/json-store.ts'

interface PendingEntry {
  /** Unix ms of the authorization's `validBefore`: no transfer can happen after it. */
  validBefore: number
  /** The payer (lower-case address). */
  payer: string
  /**
   * A `deferred` call: the amount (atomic units, decimal string) it holds of the payer's credit until it is terminal —
   * the reservation of spec §7.7, persisted with the call.
   */
  deferred?: string
}

/** Options for {@link PendingCalls}. */
export interface PendingCallsInit {
  /** Paid calls in progress across all peers. */
  max: number
  /** Paid calls in progress per payer. */
  maxPerPayer: number
}

/**
 * The paid calls that are not terminal yet (reserved, settling, or settled with the handler not finished), persisted
 * beside the call records so a restarted node finds them without scanning every record, and bounded across all peers
 * and per payer: a pending call can never be evicted (money may be moving), so beyond a bound new payments are refused
 * before anything is reserved (spec §7.4). A call being verified holds a claim, so concurrent verifications cannot
 * overshoot a bound.
 */
export class PendingCalls {
  private readonly store: JsonStore<PendingEntry>
  private readonly init: PendingCallsInit
  private readonly keys = new Map<string, PendingEntry>()
  private readonly perPayer = new Map<string, number>()
  /** What each payer owes in deferred calls not yet terminal (claims included), atomic units. */
  private readonly owed = new Map<string, bigint>()
  private claims = 0

  constructor(datastore: Datastore, init: PendingCallsInit) {
    this.store = new JsonStore(datastore, '/betar/x402/pending')
    this.init = init
  }

  get size(): number {
    return this.keys.size
  }

  /** Rebuilds the index from the datastore (at start); returns the keys with their `validBefore` (unix ms). */
  async load(options: AbortOptions = {}): Promise<Map<string, number>> {
    this.keys.clear()
    this.perPayer.clear()
    this.owed.clear()
    const out = new Map<string, number>()
    for await (const { id, value } of this.store.entries(options)) {
      this.index(id, value)
      out.set(id, value.validBefore)
    }
    return out
  }

  /**
   * Claims room for one more call of `payer` before it is verified; `false` when a bound is reached. Every `true` is
   * followed by {@link added} (the reservation committed) or {@link unclaim}.
   */
  claim(payer: string): boolean {
    const key = payer.toLowerCase()
    const ofPayer = this.perPayer.get(key) ?? 0
    if (this.keys.size + this.claims >= this.init.max || ofPayer >= this.init.maxPerPayer) return false
    this.claims++
    this.perPayer.set(key, ofPayer + 1)
    return true
  }

  /** A claimed call was not reserved. */
  unclaim(payer: string): void {
    this.claims--
    this.decrement(payer.toLowerCase())
  }

  /** What `payer` owes in deferred calls not yet terminal (atomic units). */
  owedBy(payer: string): bigint {
    return this.owed.get(payer.toLowerCase()) ?? 0n
  }

  /**
   * Claims `amount` of `payer`'s deferred credit before the call is verified: `false` when what it owes would exceed
   * `limit`. Every `true` is followed by {@link added} with the amount (the claim becomes the reservation) or
   * {@link unclaimCredit}.
   */
  claimCredit(payer: string, amount: bigint, limit: bigint): boolean {
    const key = payer.toLowerCase()
    const owed = this.owed.get(key) ?? 0n
    if (owed + amount > limit) return false
    this.owed.set(key, owed + amount)
    return true
  }

  /** A credit claim whose call was not reserved. */
  unclaimCredit(payer: string, amount: bigint): void {
    this.lower(payer.toLowerCase(), amount)
  }

  /**
   * Adds a claimed call to an atomic batch (the reservation); `expiresAt` is when the entry may be dropped (unix ms).
   * `deferred`: the credit it holds.
   */
  addInto(batch: Batch, key: string, payer: string, validBefore: number, expiresAt: number, deferred?: bigint): void {
    const entry: PendingEntry = {
      validBefore,
      payer: payer.toLowerCase(),
      ...(deferred != null ? { deferred: deferred.toString() } : {})
    }
    batch.put(this.store.key(key), this.store.encode(entry, expiresAt))
  }

  /** The batch holding {@link addInto} committed: the claim (and credit claim) becomes a pending call. */
  added(key: string, payer: string, validBefore: number, deferred?: bigint): void {
    this.claims--
    this.decrement(payer.toLowerCase())
    const entry: PendingEntry = {
      validBefore,
      payer: payer.toLowerCase(),
      ...(deferred != null ? { deferred: deferred.toString() } : {})
    }
    this.index(key, entry, false)
  }

  /** Whether `key` is a pending call. */
  has(key: string): boolean {
    return this.keys.has(key)
  }

  /**
   * Adds the removal of `key`'s entry to an atomic batch — the one that writes the call's terminal record — and keeps
   * its room and credit held until {@link removed}, once the batch is committed.
   */
  removeInto(batch: Batch, key: string): void {
    batch.delete(this.store.key(key))
  }

  /** The entry of `key` is gone from the datastore: its room and credit are released (once). */
  removed(key: string): void {
    const entry = this.keys.get(key)
    if (entry == null) return
    this.keys.delete(key)
    this.decrement(entry.payer)
    if (entry.deferred != null) this.lower(entry.payer, BigInt(entry.deferred))
  }

  /** `owed`: count the entry's deferred amount (loading); a claim already counted it. */
  private index(key: string, entry: PendingEntry, owed = true): void {
    if (this.keys.has(key)) return
    this.keys.set(key, entry)
    this.perPayer.set(entry.payer, (this.perPayer.get(entry.payer) ?? 0) + 1)
    if (owed && entry.deferred != null) {
      this.owed.set(entry.payer, (this.owed.get(entry.payer) ?? 0n) + BigInt(entry.deferred))
    }
  }

  private lower(payer: string, amount: bigint): void {
    const n = (this.owed.get(payer) ?? 0n) - amount
    if (n > 0n) this.owed.set(payer, n)
    else this.owed.delete(payer)
  }

  private decrement(payer: string): void {
    const n = (this.perPayer.get(payer) ?? 0) - 1
    if (n > 0) this.perPayer.set(payer, n)
    else this.perPayer.delete(payer)
  }
}
