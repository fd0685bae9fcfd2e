import type { AbortOptions } from '@libp2p/interface'
import type { Batch, Datastore } from 'interface-datastore'
import { JsonStore } from '../store/json-store.ts'

interface PendingEntry {
  /** Unix ms of the authorization's `validBefore`: no transfer can happen after it. */
  validBefore: number
  /** The payer (lower-case address). */
  payer: string
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

  /** Adds a claimed call to an atomic batch (the reservation); `expiresAt` is when the entry may be dropped (unix ms). */
  addInto(batch: Batch, key: string, payer: string, validBefore: number, expiresAt: number): void {
    batch.put(this.store.key(key), this.store.encode({ validBefore, payer: payer.toLowerCase() }, expiresAt))
  }

  /** The batch holding {@link addInto} committed: the claim becomes a pending call. */
  added(key: string, payer: string, validBefore: number): void {
    this.claims--
    this.decrement(payer.toLowerCase())
    this.index(key, { validBefore, payer: payer.toLowerCase() })
  }

  /** The call reached a terminal state. */
  async remove(key: string, options: AbortOptions = {}): Promise<void> {
    const entry = this.keys.get(key)
    if (entry == null) return
    this.keys.delete(key)
    this.decrement(entry.payer)
    await this.store.delete(key, options)
  }

  private index(key: string, entry: PendingEntry): void {
    if (this.keys.has(key)) return
    this.keys.set(key, entry)
    this.perPayer.set(entry.payer, (this.perPayer.get(entry.payer) ?? 0) + 1)
  }

  private decrement(payer: string): void {
    const n = (this.perPayer.get(payer) ?? 0) - 1
    if (n > 0) this.perPayer.set(payer, n)
    else this.perPayer.delete(payer)
  }
}
