import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { entryClientId } from './client-id.ts'
import { MAX_ENVELOPE_SIZE } from './envelope.ts'
import type { DeleteRange, ScannedUpdate } from './scanned-update.ts'
import { SHARDS, type Shard, ShardLayout } from './shards.ts'
import { runNow, SLICE_MS, yieldToEventLoop } from './slices.ts'
import { encodeSubset, type GroupSlice, scanUpdate } from './update-format.ts'
import { LISTINGS_MAP } from './validate.ts'

export { KEYS_PER_SHARD, SHARDS } from './shards.ts'

/** Marks changes that came from the network, so they are not echoed back. */
export const REMOTE = Symbol('betar/marketplace/remote')

type MapInternals = { _map: Map<string, Y.Item> }
type Structs = Array<Y.Item | Y.GC>

export interface EntryStoreInit {
  /** The client id the Yjs documents rest on between writes (never used for an entry). */
  restingClientId: number
  onChange: (event: Y.YMapEvent<Uint8Array>) => void
  /** A Yjs update of one shard (v1) made by a local write ({@link EntryStore.transact}), with its origin. */
  onUpdate: (update: Uint8Array, origin: unknown) => void
}

/** Most chains, and about how many bytes of records, a split copies at once (the step's time is checked in between). */
const COPY_BATCH = 128
const COPY_BYTES = 256 * 1024

/** A split under way: `from` still holds (and serves) its clients until its `children` replace it. */
interface Split {
  from: Shard
  children: Shard[]
  /** Clients not copied yet. */
  pending: number[]
  /** Clients written in `from` since the split started. */
  changed: Set<number>
}

/**
 * The marketplace's Yjs state: one `listings` map spread over Yjs documents by client id (a {@link ShardLayout}: one
 * document at first, split as they fill, up to {@link SHARDS}), one Yjs client per key.
 */
export class EntryStore {
  private readonly layout: ShardLayout
  private readonly onUpdate: EntryStoreInit['onUpdate']
  private readonly onChange: EntryStoreInit['onChange']
  private readonly resting: number
  /** Shards changed (or split) since {@link takeDirty} last ran. */
  private readonly dirty = new Set<number>()
  /** The split under way, if any ({@link grow}). */
  private splitting: Split | undefined
  private growth: Promise<void> | undefined

  constructor(init: EntryStoreInit) {
    this.resting = init.restingClientId
    this.onUpdate = init.onUpdate
    this.onChange = init.onChange
    this.layout = new ShardLayout(init.restingClientId)
    for (const shard of this.layout.shards()) shard.map.observe(this.onChange)
  }

  /** The shard (its id, stable across restarts) holding a key's client; it changes only when that shard splits. */
  shardOf(client: number): number {
    return this.layout.of(client).id
  }

  private shard(client: number): Y.Doc {
    return this.layout.of(client).doc
  }

  private map(client: number): Y.Map<Uint8Array> {
    return this.layout.of(client).map
  }

  /**
   * Starts splitting an overfull shard, if any: the split runs in steps of a few milliseconds, letting the event loop
   * through in between ({@link splitStep}). Until its last step the shard being split keeps serving every read and
   * write of its keys; the new shards are filled from it, caught up with what changed meanwhile, and put in its place in
   * one synchronous step — so queries see one consistent state throughout and no update is lost.
   */
  private grow(): void {
    if (this.growth != null || this.layout.overfull() == null) return
    this.growth = this.growInSteps()
  }

  private async growInSteps(): Promise<void> {
    try {
      do await yieldToEventLoop()
      while (this.splitStep())
    } catch {
      // Not expected (the state is this store's own); the shard stays whole, and the next write tries again.
      this.splitting = undefined
    } finally {
      this.growth = undefined
    }
  }

  /** Resolves once no split is under way (one a write starts meanwhile included). */
  async settled(): Promise<void> {
    while (this.growth != null) await this.growth
  }

  /** Runs any split to the end at once (restoring persisted parts: nothing is served yet). */
  growNow(): void {
    try {
      while (this.splitStep()) {}
    } catch {
      this.splitting = undefined
    }
  }

  /**
   * One step of a split: starts one if a shard is overfull, copies chains of the shard into its children for about one
   * slice, then — once all are copied and what changed meanwhile fits in one step — catches the children up and puts
   * them in the shard's place. Returns whether there is more to do.
   */
  private splitStep(): boolean {
    let split = this.splitting
    if (split == null) {
      const from = this.layout.overfull()
      if (from == null) return false
      split = {
        from,
        children: this.layout.children(from),
        pending: [...from.doc.store.clients.keys()],
        changed: new Set()
      }
      this.splitting = split
    }
    const started = performance.now()
    while (split.pending.length > 0) {
      this.copy(split, this.batch(split.pending))
      if (performance.now() - started >= SLICE_MS) return true
    }
    // Chains written meanwhile: copied again from where each child's copy ends (new keys whole) — in steps while they
    // are many, then the last of them in the step that swaps the shards, so nothing written in between is missed.
    if (split.changed.size > COPY_BATCH) {
      split.pending.push(...split.changed)
      split.changed.clear()
      return true
    }
    this.copy(split, [...split.changed])
    split.changed.clear()
    split.from.map.unobserve(this.onChange)
    this.layout.replace(split.from, split.children)
    for (const child of split.children) {
      child.map.observe(this.onChange)
      this.dirty.add(child.id)
    }
    this.dirty.add(split.from.id)
    this.splitting = undefined
    return this.layout.overfull() != null
  }

  /** Takes clients off the end of `pending`: up to {@link COPY_BATCH} of them, or about {@link COPY_BYTES} of records. */
  private batch(pending: number[]): number[] {
    const out: number[] = []
    let bytes = 0
    while (pending.length > 0 && out.length < COPY_BATCH && bytes < COPY_BYTES) {
      const client = pending.pop() as number
      const tail = this.tail(client)
      bytes += tail?.content instanceof Y.ContentBinary ? tail.content.content.byteLength : 64
      out.push(client)
    }
    return out
  }

  /** Copies the chains of `clients` (what each child lacks of them, and all their deleted ranges) into the children. */
  private copy(split: Split, clients: readonly number[]): void {
    const byChild = new Map<Shard, Array<{ structs: Uint8Array | undefined; deletions: Uint8Array | undefined }>>()
    for (const client of clients) {
      const structs = split.from.doc.store.clients.get(client)
      if (structs == null || structs.length === 0) continue
      const child = split.children.find((c) => client % c.modulus === c.residue) as Shard
      const held = child.doc.store.clients.get(client)
      const last = held?.[held.length - 1]
      const from = last == null ? 0 : last.id.clock + last.length
      const part = {
        structs: this.state(client) > from ? encodeChain(structs, client, from) : undefined,
        deletions: encodeDeletions(structs, client)
      }
      if (part.structs == null && part.deletions == null) continue
      const parts = byChild.get(child)
      if (parts == null) byChild.set(child, [part])
      else parts.push(part)
    }
    for (const [child, parts] of byChild) {
      try {
        Y.applyUpdate(child.doc, assemble(parts), REMOTE)
      } finally {
        child.doc.clientID = this.resting
      }
    }
  }

  /** Notes clients written in a shard being split (its children must catch up with them). */
  private touched(shard: number, clients: Iterable<number>): void {
    const split = this.splitting
    if (split == null || split.from.id !== shard) return
    for (const client of clients) split.changed.add(client)
  }

  /** The structs of one client (one key's chain). */
  private structs(client: number): Structs | undefined {
    return this.shard(client).store.clients.get(client)
  }

  /** Every client (key chain) of every shard. */
  private *chains(): IterableIterator<[number, Structs]> {
    for (const shard of this.layout.shards()) yield* shard.doc.store.clients
  }

  state(client: number): number {
    const structs = this.structs(client)
    const last = structs?.[structs.length - 1]
    return last == null ? 0 : last.id.clock + last.length
  }

  keyOf(client: number): string | undefined {
    const first = this.structs(client)?.[0]
    return first instanceof Y.Item && first.parentSub != null ? first.parentSub : undefined
  }

  tail(client: number): Y.Item | undefined {
    const structs = this.structs(client)
    const last = structs?.[structs.length - 1]
    return last instanceof Y.Item ? last : undefined
  }

  /** The live value of a key (written by `client`). */
  get(key: string, client: number): Uint8Array | undefined {
    return this.map(client).get(key)
  }

  /** Every live entry. */
  *entries(): IterableIterator<[string, Uint8Array]> {
    for (const shard of this.layout.shards()) yield* shard.map.entries()
  }

  /** Every key ever written here (live, withdrawn or collected), with the item holding its last value. */
  *items(): IterableIterator<[string, Y.Item]> {
    for (const shard of this.layout.shards()) yield* (shard.map as unknown as MapInternals)._map
  }

  /** Runs local writes and deletions; `fn` gets a writer bound to each key's client. */
  transact(
    fn: (ops: {
      set(key: string, client: number, bytes: Uint8Array): void
      del(key: string, client: number): void
    }) => void
  ): void {
    // Group by shard, so each shard sees one transaction (one update).
    const work = new Map<number, Array<() => void>>()
    const clients = new Map<number, number[]>()
    const queue = (client: number, op: () => void) => {
      const s = this.shardOf(client)
      const list = work.get(s)
      if (list == null) {
        work.set(s, [op])
        clients.set(s, [client])
      } else {
        list.push(op)
        clients.get(s)?.push(client)
      }
    }
    fn({
      set: (key, client, bytes) =>
        queue(client, () => {
          const doc = this.shard(client)
          doc.clientID = client
          try {
            this.map(client).set(key, bytes)
          } finally {
            doc.clientID = this.resting
          }
        }),
      del: (key, client) => queue(client, () => this.map(client).delete(key))
    })
    for (const [s, ops] of work) {
      this.dirty.add(s)
      this.touched(s, clients.get(s) ?? [])
      const doc = (this.layout.get(s) as Shard).doc
      // Listened to only here: Yjs encodes every transaction's update while a document has an 'update' listener, and
      // remote updates (a sync's 100,000 entries) are reported as they arrived instead.
      doc.on('update', this.onUpdate)
      try {
        doc.transact(() => {
          for (const op of ops) op()
        })
      } finally {
        doc.off('update', this.onUpdate)
      }
    }
    this.grow()
  }

  /** Applies (already validated) struct runs and delete ranges of a scanned update, shard by shard. */
  apply(scan: ScannedUpdate, runs: readonly GroupSlice[], ranges: readonly DeleteRange[]): void {
    const byShard = new Map<number, { runs: GroupSlice[]; ranges: DeleteRange[] }>()
    const at = (client: number) => {
      const s = this.shardOf(client)
      let entry = byShard.get(s)
      if (entry == null) {
        entry = { runs: [], ranges: [] }
        byShard.set(s, entry)
      }
      return entry
    }
    for (const run of runs) at(scan.client(run.from)).runs.push(run)
    for (const r of ranges) at(r.client).ranges.push(r)
    for (const [s, work] of byShard) {
      this.dirty.add(s)
      if (this.splitting?.from.id === s) {
        this.touched(s, [...work.runs.map((run) => scan.client(run.from)), ...work.ranges.map((r) => r.client)])
      }
      const doc = (this.layout.get(s) as Shard).doc
      try {
        Y.applyUpdate(doc, encodeSubset(scan, work.runs, work.ranges), REMOTE)
      } finally {
        // Yjs moves a document to a random client id when a remote update carries its own; ours is never an entry's.
        doc.clientID = this.resting
      }
    }
    this.grow()
  }

  /** The merged state vector (Yjs format, clients in descending order as Yjs writes them). */
  stateVector(): Uint8Array {
    const pairs: Array<[number, number]> = []
    for (const [client, structs] of this.chains()) {
      const last = structs[structs.length - 1] as Y.Item | Y.GC
      pairs.push([client, last.id.clock + last.length])
    }
    pairs.sort((a, b) => b[0] - a[0])
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, pairs.length)
    for (const [client, clock] of pairs) {
      encoding.writeVarUint(e, client)
      encoding.writeVarUint(e, clock)
    }
    return encoding.toUint8Array(e)
  }

  /** Everything a peer with `stateVector` lacks (all state when absent), as one Yjs v1 update. */
  diff(stateVector?: Uint8Array): Uint8Array {
    const sv = stateVector != null ? Y.decodeStateVector(stateVector) : new Map<number, number>()
    const encoder = new Y.UpdateEncoderV1()
    const parts: Array<[number, Structs, number]> = []
    for (const [client, structs] of this.chains()) {
      const last = structs[structs.length - 1] as Y.Item | Y.GC
      const from = sv.get(client) ?? 0
      if (last.id.clock + last.length > from) parts.push([client, structs, from])
    }
    // As Yjs' writeClientsStructs: higher client ids first.
    parts.sort((a, b) => b[0] - a[0])
    encoding.writeVarUint(encoder.restEncoder, parts.length)
    for (const [client, structs, from] of parts) {
      const clock = Math.max(from, (structs[0] as Y.Item | Y.GC).id.clock)
      const start = Y.findIndexSS(structs, clock)
      encoding.writeVarUint(encoder.restEncoder, structs.length - start)
      encoder.writeClient(client)
      encoding.writeVarUint(encoder.restEncoder, clock)
      const first = structs[start] as Y.Item | Y.GC
      first.write(encoder, clock - first.id.clock)
      for (let i = start + 1; i < structs.length; i++) (structs[i] as Y.Item | Y.GC).write(encoder, 0)
    }
    const ds = Y.mergeDeleteSets([...this.layout.shards()].map((s) => Y.createDeleteSetFromStructStore(s.doc.store)))
    const clients = [...ds.clients.entries()].sort((a, b) => b[0] - a[0])
    encoding.writeVarUint(encoder.restEncoder, clients.length)
    for (const [client, items] of clients) {
      encoding.writeVarUint(encoder.restEncoder, client)
      encoding.writeVarUint(encoder.restEncoder, items.length)
      for (const item of items) {
        encoding.writeVarUint(encoder.restEncoder, item.clock)
        encoding.writeVarUint(encoder.restEncoder, item.len)
      }
    }
    return encoder.toUint8Array()
  }

  /**
   * {@link diff} in parts of about `chunkSize` bytes, each a Yjs v1 update of whole clients — a key's new structs and
   * all its deleted ranges together, since validation needs a key's history and live entry together — encoded one part
   * at a time, so a large state never holds the event loop at once. Applying every part gives what `diff` gives; the
   * document may change between parts (changes made meanwhile reach the peer by gossip).
   */
  *diffChunks(stateVector?: Uint8Array | readonly Uint8Array[], chunkSize = 128 * 1024): Generator<Uint8Array> {
    const sv = this.peerState(stateVector)
    const clients: number[] = []
    for (const [client] of this.chains()) clients.push(client)
    // By shard, so that a chunk's keys share few shards: applying it then costs a few Yjs transactions, not one per
    // shard, each walking its shard's state vector (a late joiner of 50,000 listings: 21 s of CPU, 13 s by shard).
    // The receiver's shards are classes modulo 1, 8 or 64: ordered by residue modulo 8, then 64, a chunk's clients
    // share few of them whichever it has.
    clients.sort((a, b) => (a % 8) - (b % 8) || (a % SHARDS) - (b % SHARDS) || b - a)
    let parts: Array<{ structs: Uint8Array | undefined; deletions: Uint8Array | undefined }> = []
    let bytes = 0
    for (const client of clients) {
      const structs = this.structs(client)
      if (structs == null || structs.length === 0) continue
      const from = sv.get(client) ?? 0
      const part = {
        structs: this.state(client) > from ? encodeChain(structs, client, from) : undefined,
        deletions: encodeDeletions(structs, client)
      }
      if (part.structs == null && part.deletions == null) continue
      const size = (part.structs?.byteLength ?? 0) + (part.deletions?.byteLength ?? 0)
      if (parts.length > 0 && bytes + size > chunkSize) {
        yield assemble(parts)
        parts = []
        bytes = 0
      }
      parts.push(part)
      bytes += size
    }
    if (parts.length > 0) yield assemble(parts)
  }

  /**
   * A peer's state vector (whole, or in parts as a sync receives it) as client → clock, for the clients held here only:
   * the rest cannot matter to a diff, so however many a peer lists, the map is bounded by our own state.
   * @throws Error from Yjs for a part that is not a state vector
   */
  private peerState(stateVector: Uint8Array | readonly Uint8Array[] | undefined): Map<number, number> {
    const sv = new Map<number, number>()
    if (stateVector == null) return sv
    for (const part of stateVector instanceof Uint8Array ? [stateVector] : stateVector) {
      for (const [client, clock] of Y.decodeStateVector(part)) if (this.structs(client) != null) sv.set(client, clock)
    }
    return sv
  }

  /** A snapshot of the whole state (a Yjs v2 update), for persistence: restored without validation. */
  snapshot(): Uint8Array {
    return Y.convertUpdateFormatV1ToV2(this.diff())
  }

  /** The shards changed since the last call (all of them the first time), forgotten as changed. */
  takeDirty(): number[] {
    const out = [...this.dirty].sort((a, b) => a - b)
    this.dirty.clear()
    return out
  }

  /** Marks shards changed again (their snapshot could not be stored). */
  markDirty(shards: Iterable<number>): void {
    for (const s of shards) this.dirty.add(s)
  }

  /**
   * The whole state of one shard as a Yjs v1 update, for persistence ({@link restoreV1} reads it back); `undefined` for
   * a shard that was split (its part is to be deleted). A node re-encodes only what changed, never its whole state.
   */
  shardSnapshot(shard: number): Uint8Array | undefined {
    const live = this.layout.get(shard)
    return live != null ? Y.encodeStateAsUpdate(live.doc) : undefined
  }

  /**
   * Restores state this node persisted itself (a Yjs v2 update: a {@link snapshot} or part of one, whole chains
   * continuing where this store's chains end). Returns false, restoring nothing, unless it is made of per-key chains
   * bound to their keys — a snapshot of an earlier version of this package (one client per seller) is not, and peers
   * would refuse its entries: the node resyncs instead.
   */
  restore(update: Uint8Array): boolean {
    let v1: Uint8Array
    try {
      v1 = Y.convertUpdateFormatV2ToV1(update)
    } catch {
      return false
    }
    return this.restoreV1(v1)
  }

  /** {@link restore} for a Yjs v1 update (a {@link shardSnapshot}): all of it, or nothing. */
  restoreV1(update: Uint8Array): boolean {
    return this.replay(update, false) === 'whole'
  }

  /**
   * Replays a Yjs v1 update this node logged itself, key by key: a key whose chain does not continue what this store
   * holds (a record it builds on was lost) is skipped with its delete ranges — it keeps the version it has — and every
   * other key is restored. `partly` when some key was skipped; `refused` when the update cannot be read.
   */
  replayV1(update: Uint8Array): 'whole' | 'partly' | 'refused' {
    return this.replay(update, true)
  }

  /** Whether this store holds every struct of a Yjs v1 update (false when it cannot be read). */
  holds(update: Uint8Array): boolean {
    const scan = this.scanOwn(update)
    if (scan == null) return false
    for (let g = 0; g < scan.groups; g++) {
      if (this.state(scan.groupClient(g)) < scan.next(scan.groupEnd(g) - 1)) return false
    }
    return true
  }

  private scanOwn(update: Uint8Array): ScannedUpdate | undefined {
    try {
      return runNow(
        scanUpdate(update, {
          maxUpdateSize: Number.MAX_SAFE_INTEGER,
          maxStructs: Number.MAX_SAFE_INTEGER,
          maxBinaryBytes: MAX_ENVELOPE_SIZE,
          root: LISTINGS_MAP
        })
      )
    } catch {
      return undefined
    }
  }

  /**
   * Restores whole chains that continue this store's (state this node persisted itself: not validated again). `partial`:
   * a chain that does not continue is skipped alone (with its delete ranges); otherwise it refuses the whole update.
   */
  private replay(update: Uint8Array, partial: boolean): 'whole' | 'partly' | 'refused' {
    const scan = this.scanOwn(update)
    if (scan == null) return 'refused'
    const runs: GroupSlice[] = []
    const ends = new Map<number, number>()
    const skipped = new Set<number>()
    for (let g = 0; g < scan.groups; g++) {
      const client = scan.groupClient(g)
      const end = scan.groupEnd(g)
      const state = this.state(client)
      let from = scan.groupFirst(g)
      while (from < end && scan.next(from) <= state) from++
      if (from === end) {
        ends.set(client, state)
        continue
      }
      let continues = true
      for (let i = from; i < end && continues; i++) {
        const key = scan.key(i)
        const chained =
          scan.originClient(i) < 0
            ? scan.clock(i) === 0 && key != null && entryClientId(key) === client
            : scan.originClient(i) === client && scan.originClock(i) === scan.clock(i) - 1
        if (!chained || (i === from && scan.clock(i) > state)) continues = false
      }
      if (!continues) {
        if (!partial) return 'refused'
        skipped.add(client)
        continue
      }
      ends.set(client, scan.next(end - 1))
      runs.push({ from, to: end })
    }
    const ranges: DeleteRange[] = []
    for (let r = 0; r < scan.ranges; r++) {
      const client = scan.rangeClient(r)
      if (skipped.has(client)) continue
      const clock = scan.rangeClock(r)
      // Cut to what the store will hold: Yjs would keep the rest pending, and apply it to whatever comes later.
      const end = Math.min(clock + scan.rangeLen(r), ends.get(client) ?? this.state(client))
      if (clock < end) ranges.push({ client, clock, len: end - clock })
    }
    this.apply(scan, runs, ranges)
    return skipped.size > 0 ? 'partly' : 'whole'
  }
}

/** The structs of one client from `from` on, as Yjs' `writeStructs` encodes them (v1: count, client, clock, structs). */
function encodeChain(structs: Structs, client: number, from: number): Uint8Array {
  const clock = Math.max(from, (structs[0] as Y.Item | Y.GC).id.clock)
  const start = Y.findIndexSS(structs, clock)
  const encoder = new Y.UpdateEncoderV1()
  encoding.writeVarUint(encoder.restEncoder, structs.length - start)
  encoder.writeClient(client)
  encoding.writeVarUint(encoder.restEncoder, clock)
  const first = structs[start] as Y.Item | Y.GC
  first.write(encoder, clock - first.id.clock)
  for (let i = start + 1; i < structs.length; i++) (structs[i] as Y.Item | Y.GC).write(encoder, 0)
  return encoder.toUint8Array()
}

/** The deleted ranges of one client, as a v1 delete-set entry (client, count, clock/length pairs). */
function encodeDeletions(structs: Structs, client: number): Uint8Array | undefined {
  const ranges: number[] = []
  for (const s of structs) {
    if (!s.deleted) continue
    const end = ranges.length > 0 ? (ranges[ranges.length - 2] as number) + (ranges[ranges.length - 1] as number) : -1
    if (s.id.clock === end) ranges[ranges.length - 1] = (ranges[ranges.length - 1] as number) + s.length
    else ranges.push(s.id.clock, s.length)
  }
  if (ranges.length === 0) return undefined
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, client)
  encoding.writeVarUint(e, ranges.length / 2)
  for (const n of ranges) encoding.writeVarUint(e, n)
  return encoding.toUint8Array(e)
}

/** A v1 update of whole clients' parts. */
function assemble(
  parts: ReadonlyArray<{ structs: Uint8Array | undefined; deletions: Uint8Array | undefined }>
): Uint8Array {
  const e = encoding.createEncoder()
  const withStructs = parts.filter((p) => p.structs != null)
  encoding.writeVarUint(e, withStructs.length)
  for (const p of withStructs) encoding.writeUint8Array(e, p.structs as Uint8Array)
  const withDeletions = parts.filter((p) => p.deletions != null)
  encoding.writeVarUint(e, withDeletions.length)
  for (const p of withDeletions) encoding.writeUint8Array(e, p.deletions as Uint8Array)
  return encoding.toUint8Array(e)
}
