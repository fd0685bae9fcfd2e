import type { AbortOptions } from '@libp2p/interface'
import type { Batch, Datastore } from 'interface-datastore'
import { JsonStore } from '../store/json-store.ts'

interface PendingEntry {
  /** Unix ms of the authorization's `validBefore`: no transfer can happen after it. */
  validBefore: number
}

/**
 * The paid calls that are not terminal yet (reserved, settling, or settled with the handler not finished), persisted
 * beside the call records so a restarted node finds them without scanning every record, and bounded across all peers:
 * a pending call can never be evicted (money may be moving), so beyond the bound new payments are refused before
 * anything is reserved (spec §7.4).
 */
export class PendingCalls {
  private readonly store: JsonStore<PendingEntry>
  private readonly max: number
  private readonly keys = new Map<string, number>()

  constructor(datastore: Datastore, max: number) {
    this.store = new JsonStore(datastore, '/betar/x402/pending')
    this.max = max
  }

  get size(): number {
    return this.keys.size
  }

  /** Whether another call may be reserved. */
  hasRoom(): boolean {
    return this.keys.size < this.max
  }

  /** Rebuilds the index from the datastore (at start); returns the keys with their `validBefore` (unix ms). */
  async load(options: AbortOptions = {}): Promise<Map<string, number>> {
    this.keys.clear()
    for await (const { id, value } of this.store.entries(options)) this.keys.set(id, value.validBefore)
    return new Map(this.keys)
  }

  /** Adds a call to an atomic batch (the reservation); `expiresAt` is when the entry may be dropped (unix ms). */
  addInto(batch: Batch, key: string, validBefore: number, expiresAt: number): void {
    batch.put(this.store.key(key), this.store.encode({ validBefore }, expiresAt))
  }

  /** The batch holding {@link addInto} committed. */
  added(key: string, validBefore: number): void {
    this.keys.set(key, validBefore)
  }

  /** The call reached a terminal state. */
  async remove(key: string, options: AbortOptions = {}): Promise<void> {
    if (!this.keys.delete(key)) return
    await this.store.delete(key, options)
  }

  has(key: string): boolean {
    return this.keys.has(key)
  }
}
