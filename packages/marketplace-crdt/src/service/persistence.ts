import { type Datastore, Key } from 'interface-datastore'
import type { EpochedMarketplace } from '../core/epochs.ts'

/** `/betar/marketplace/part/<epoch>/<part>`: one Yjs v1 update per part (shard) of a held epoch's document. */
const PART_PREFIX = '/betar/marketplace/part'
/** `/betar/marketplace/log/<epoch>/<seq>`: updates applied since the parts were written, in order (Yjs v1). */
const LOG_PREFIX = '/betar/marketplace/log'
/** `/betar/marketplace/epoch/<epoch>`: a whole document as one Yjs v2 update (the earlier format: read, then replaced). */
const EPOCH_PREFIX = '/betar/marketplace/epoch'
const partKey = (epoch: number, part: number): Key => new Key(`${PART_PREFIX}/${epoch}/${part}`)
const logKey = (epoch: number, seq: number): Key => new Key(`${LOG_PREFIX}/${epoch}/${String(seq).padStart(12, '0')}`)

/** The log of an epoch is folded into its parts once it outgrows max(this, the document's size). */
const MIN_COMPACT_BYTES = 1024 * 1024
/** Updates waiting for the next save beyond this size are dropped for a compaction (a state sync streaming in). */
const MAX_PENDING_BYTES = 8 * 1024 * 1024

interface Pending {
  updates: Uint8Array[]
  bytes: number
  /** Too much arrived to log: the next save writes the changed parts instead. */
  overflow: boolean
}

/** An epoch's stored log. */
interface Log {
  /** Bytes of the records `from … next - 1` (not counting kept ones). */
  bytes: number
  /** The first record not folded yet, and the next sequence number. */
  from: number
  next: number
  /**
   * Records replayed only in part at restore (a key they continue lost an earlier record): the document does not hold
   * all their content, so a fold keeps them until it does (a sync brought it) or the epoch is dropped.
   */
  kept: Map<number, Uint8Array>
}

/**
 * The marketplace's epochs in the node's datastore, written as y-leveldb writes a Yjs document: every applied update is
 * appended to a log, and once an epoch's log outgrows its document the changed parts (1/64 of the document each) are
 * written and the log deleted, in one batch. A save therefore costs about what arrived since the last one: saving the
 * whole document after every change made a node of 100,000 listings (≈ 90 MB) re-encode it every few seconds under
 * ordinary churn, and 100 converging nodes of 1,000 listings spent 5 s of CPU on it.
 */
export class EpochStore {
  private readonly datastore: Datastore
  private readonly pending = new Map<number, Pending>()
  /** Per epoch: the stored log (see {@link Log}). */
  private readonly logs = new Map<number, Log>()

  constructor(datastore: Datastore) {
    this.datastore = datastore
  }

  /** Notes an update applied to an epoch's document (local or remote), for the next {@link save}. */
  record(epoch: number, update: Uint8Array): void {
    let pending = this.pending.get(epoch)
    if (pending == null) {
      pending = { updates: [], bytes: 0, overflow: false }
      this.pending.set(epoch, pending)
    }
    if (pending.overflow) return
    pending.updates.push(update)
    pending.bytes += update.byteLength
    if (pending.bytes > MAX_PENDING_BYTES) {
      pending.updates = []
      pending.overflow = true
    }
  }

  /**
   * Loads every stored epoch the marketplace still keeps (parts, then the log in order; newest epoch first, so that a
   * version collected in a newer epoch is known before an older epoch's superseded one is read), and deletes the others.
   */
  async restore(market: EpochedMarketplace): Promise<void> {
    const parts = await this.held(market, PART_PREFIX)
    const log = await this.held(market, LOG_PREFIX)
    const epochs = [...new Set([...parts.keys(), ...log.keys()])].sort((a, b) => b - a)
    for (const epoch of epochs) {
      const doc = market.doc(epoch)
      if (doc == null) continue
      doc.restoreParts((parts.get(epoch) ?? []).map((e) => e.value))
      const entries = log.get(epoch)
      if (entries == null) continue
      // Keys sort by sequence number (zero-padded).
      entries.sort((a, b) => (a.key.toString() < b.key.toString() ? -1 : 1))
      // A key whose chain no longer continues (a record or part it builds on was lost) keeps what it has; the rest of
      // each update is restored. Updates not wholly restored are kept in the log until the document holds them (a sync
      // brings the missing versions) or the epoch is dropped: the fold below must not delete what it did not store.
      const incomplete = new Set(doc.restoreLog(entries.map((e) => e.value)))
      const kept = new Map<number, Uint8Array>()
      let bytes = 0
      for (const [i, e] of entries.entries()) {
        if (incomplete.has(i)) kept.set(Number(e.key.baseNamespace()), e.value)
        else bytes += e.value.byteLength
      }
      const last = Number(entries[entries.length - 1]?.key.baseNamespace() ?? -1)
      this.logs.set(epoch, { bytes, from: 0, next: last + 1, kept })
    }
    // The earlier format: restored, then written again as parts and deleted in the same batch (below), so a crash in
    // between never loses it.
    const earlier: Key[] = []
    for await (const { key, value } of this.datastore.query({ prefix: `${EPOCH_PREFIX}/` })) {
      const epoch = Number(key.baseNamespace())
      if (Number.isInteger(epoch)) market.doc(epoch)?.restore(value)
      earlier.push(key)
    }
    // What the log and the earlier format changed, folded into parts.
    await this.save(market, true, earlier)
  }

  /** The `<prefix>/<epoch>/<n>` records of each epoch the marketplace keeps; those of other epochs are deleted. */
  private async held(
    market: EpochedMarketplace,
    prefix: string
  ): Promise<Map<number, Array<{ key: Key; value: Uint8Array }>>> {
    const byEpoch = new Map<number, Array<{ key: Key; value: Uint8Array }>>()
    for await (const entry of this.datastore.query({ prefix: `${prefix}/` })) {
      const epoch = Number(entry.key.parent().baseNamespace())
      if (!Number.isInteger(epoch) || market.doc(epoch) == null) {
        await this.datastore.delete(entry.key) // an epoch too old to keep
        continue
      }
      const list = byEpoch.get(epoch)
      if (list == null) byEpoch.set(epoch, [entry])
      else list.push(entry)
    }
    return byEpoch
  }

  /**
   * Writes what changed in every held epoch since the last save: the updates appended to its log, or, once the log has
   * outgrown the document (or too much arrived at once), the changed parts with the log deleted. `compact`: fold every
   * log now. `obsolete`: records deleted in the same batch as the first epoch's writes (a migrated earlier format).
   */
  async save(market: EpochedMarketplace, compact = false, obsolete: readonly Key[] = []): Promise<void> {
    let pendingDeletes = [...obsolete]
    for (const epoch of market.epochs()) {
      const doc = market.doc(epoch)
      if (doc == null) continue
      const pending = this.pending.get(epoch)
      this.pending.delete(epoch)
      const log = this.logs.get(epoch) ?? { bytes: 0, from: 0, next: 0, kept: new Map() }
      const fold =
        compact ||
        pending?.overflow === true ||
        log.bytes + (pending?.bytes ?? 0) > Math.max(MIN_COMPACT_BYTES, doc.storedBytes())
      if (!fold && (pending == null || pending.updates.length === 0)) continue
      if (fold && log.bytes === 0 && pending == null && !compact) continue
      const batch = this.datastore.batch()
      for (const key of pendingDeletes) batch.delete(key)
      let changed: number[] = []
      /** Kept log records the document now holds in full (deleted with this fold). */
      const released: number[] = []
      if (fold) {
        changed = doc.changedParts()
        for (const part of changed) {
          const bytes = doc.part(part)
          if (bytes != null) batch.put(partKey(epoch, part), bytes)
          else batch.delete(partKey(epoch, part)) // a shard that was split: its state is in the new parts
        }
        for (let seq = log.next - 1; seq >= log.from; seq--) if (!log.kept.has(seq)) batch.delete(logKey(epoch, seq))
        for (const [seq, update] of log.kept) {
          if (!doc.holds(update)) continue
          batch.delete(logKey(epoch, seq))
          released.push(seq)
        }
      } else {
        for (const [i, update] of (pending?.updates ?? []).entries()) batch.put(logKey(epoch, log.next + i), update)
      }
      try {
        await batch.commit()
      } catch (err) {
        // Not stored: the parts stay changed, and the next save folds the log.
        doc.markChanged(changed)
        this.pending.set(epoch, { updates: [], bytes: 0, overflow: true })
        throw err
      }
      pendingDeletes = []
      if (fold) {
        const kept = new Map(log.kept)
        for (const seq of released) kept.delete(seq)
        // Sequence numbers start again only once no kept record could be overwritten.
        const next = kept.size > 0 ? log.next : 0
        this.logs.set(epoch, { bytes: 0, from: next, next, kept })
      } else {
        const added = pending?.updates ?? []
        this.logs.set(epoch, { ...log, bytes: log.bytes + (pending?.bytes ?? 0), next: log.next + added.length })
      }
    }
    // Obsolete records of epochs no longer held: nothing to write in their place.
    if (pendingDeletes.length > 0) {
      const batch = this.datastore.batch()
      for (const key of pendingDeletes) batch.delete(key)
      await batch.commit()
    }
  }

  /** Deletes a dropped epoch. */
  async drop(epoch: number): Promise<void> {
    this.pending.delete(epoch)
    this.logs.delete(epoch)
    const batch = this.datastore.batch()
    for (const prefix of [PART_PREFIX, LOG_PREFIX]) {
      for await (const key of this.datastore.queryKeys({ prefix: `${prefix}/${epoch}/` })) batch.delete(key)
    }
    batch.delete(new Key(`${EPOCH_PREFIX}/${epoch}`))
    await batch.commit()
  }
}
