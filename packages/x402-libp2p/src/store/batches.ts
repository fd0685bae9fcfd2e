import type { Datastore } from 'interface-datastore'
import type { Hex } from 'viem'
import type { SettlementAttempt } from '../settlement/settler.ts'
import { JsonStore } from './json-store.ts'

/** What every member of a batch shares (spec §7.6): the member ids and the raw transactions, by hash. */
interface StoredBatch {
  members: string[]
  raw: Record<string, Hex>
}

/** Batches whose shared part is known in memory (written, or read back), at most. */
const MAX_KNOWN = 512
/**
 * How much longer than the member that wrote it a batch is kept (ms): its members' records are saved within moments of
 * each other, each a little later than the last, and each must find the batch for as long as the record itself is
 * kept — without a write per member.
 */
const EXPIRY_SLACK_MS = 10 * 60_000

/**
 * The shared part of batched settlements (spec §7.6), stored **once per batch** under its id instead of in each
 * member's record: a batch of 64 carries a raw transaction of about 30 KB and 64 member ids, and writing those into
 * every member's record at every state change made each call of a full batch write megabytes.
 *
 * {@link detach} writes the batch's members and raw transactions (and waits for the write) before it hands back the
 * member's attempt without them — so whoever persists a member's record persists the batch first, and a member's
 * record is never on disk without the batch it names. {@link attach} fills them back in when a record is read.
 */
export class BatchStore {
  private readonly store: JsonStore<StoredBatch>
  private readonly known = new Map<string, { value: StoredBatch; written: Promise<void>; expiresAt: number }>()

  constructor(datastore: Datastore) {
    this.store = new JsonStore(datastore, '/betar/x402/batches')
  }

  /**
   * The attempt as a member's record stores it: a batch's member ids and raw transactions are written to the batch
   * (durably, before this resolves) and left out. Attempts that are not a batch's are returned as they are.
   * `expiresAt` (ms since the epoch) is when the member's record expires: the batch is kept at least as long (it is
   * written again only when a member's record outlives it by then — a record kept for a refund, say).
   */
  async detach(attempt: SettlementAttempt | undefined, expiresAt: number): Promise<SettlementAttempt | undefined> {
    const batch = attempt?.batch
    if (attempt == null || batch == null) return attempt
    let entry = this.known.get(batch.id)
    const missing = attempt.transactions.filter((t) => t.raw != null && entry?.value.raw[t.hash] !== t.raw)
    const newMembers = batch.members.length > 0 && entry?.value.members.length !== batch.members.length
    const outlived = entry != null && expiresAt > entry.expiresAt
    if (entry == null || missing.length > 0 || newMembers || outlived) {
      const value: StoredBatch = {
        members: newMembers ? batch.members : (entry?.value.members ?? []),
        raw: { ...entry?.value.raw }
      }
      for (const t of missing) value.raw[t.hash] = t.raw as Hex
      const keepUntil = Math.max(entry?.expiresAt ?? 0, Math.min(Number.MAX_SAFE_INTEGER, expiresAt + EXPIRY_SLACK_MS))
      const previous = entry?.written ?? Promise.resolve()
      const written = previous.catch(() => undefined).then(() => this.store.put(batch.id, value, keepUntil))
      const current = { value, written, expiresAt: keepUntil }
      entry = current
      this.known.delete(batch.id)
      this.known.set(batch.id, current)
      // A failed write is not known: the next member's save writes it again.
      written.catch(() => {
        if (this.known.get(batch.id) === current) this.known.delete(batch.id)
      })
      while (this.known.size > MAX_KNOWN) this.known.delete(this.known.keys().next().value as string)
    }
    await entry.written
    return {
      ...attempt,
      batch: { id: batch.id, members: [] },
      transactions: attempt.transactions.map(({ raw: _, ...t }) => t)
    }
  }

  /** A member's attempt as stored, with its batch's member ids and raw transactions filled back in. */
  async attach(attempt: SettlementAttempt | undefined): Promise<SettlementAttempt | undefined> {
    const batch = attempt?.batch
    if (attempt == null || batch == null) return attempt
    if (batch.members.length > 0 && attempt.transactions.every((t) => t.raw != null)) return attempt
    const value = this.known.get(batch.id)?.value ?? (await this.store.get(batch.id))
    // Not found (expired): the chain decides, as for any transaction the node can no longer re-broadcast.
    if (value == null) return attempt
    return {
      ...attempt,
      batch: { id: batch.id, members: value.members },
      transactions: attempt.transactions.map((t) => {
        const raw = t.raw ?? value.raw[t.hash]
        return raw != null ? { ...t, raw } : t
      })
    }
  }

  /** Deletes every expired batch; returns how many. */
  gc(now = Date.now()): Promise<number> {
    return this.store.gc(now)
  }
}
