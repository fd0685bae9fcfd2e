import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { entryClientId } from './client-id.ts'
import { MAX_ENVELOPE_SIZE } from './envelope.ts'
import type { DeleteRange, ScannedUpdate } from './scanned-update.ts'
import { runNow } from './slices.ts'
import { encodeSubset, type GroupSlice, scanUpdate } from './update-format.ts'
import { LISTINGS_MAP } from './validate.ts'

/**
 * Yjs documents the entries are spread over, by client id. Every entry key has its own Yjs client, and a Yjs transaction
 * walks the whole state vector of its document several times (`getStateVector` in `Transaction`, in cleanup and in
 * `writeClientsStructs`): measured on the reference machine, one small update to a document of 100,000 clients takes
 * 60–110 ms, against 0.1 ms at 1,000. Shards keep each document at #keys / 64 clients. The wire format is unchanged: an
 * update is a plain Yjs v1 update, split by client on the way in and merged on the way out.
 */
export const SHARDS = 64

/** Marks changes that came from the network, so they are not echoed back. */
export const REMOTE = Symbol('betar/marketplace/remote')

type MapInternals = { _map: Map<string, Y.Item> }
type Structs = Array<Y.Item | Y.GC>

export interface EntryStoreInit {
  /** The client id the Yjs documents rest on between writes (never used for an entry). */
  restingClientId: number
  onChange: (event: Y.YMapEvent<Uint8Array>) => void
  /** A Yjs update of one shard (v1), with its transaction origin. */
  onUpdate: (update: Uint8Array, origin: unknown) => void
}

/** The marketplace's Yjs state: one `listings` map spread over {@link SHARDS} documents, one Yjs client per key. */
export class EntryStore {
  private readonly shards: Y.Doc[] = []
  private readonly maps: Array<Y.Map<Uint8Array>> = []
  private readonly resting: number

  constructor(init: EntryStoreInit) {
    this.resting = init.restingClientId
    for (let i = 0; i < SHARDS; i++) {
      // Keep the signed content of each key's last entry even once it is deleted (collected): a replica that missed the
      // entry can still receive it, signed, in a sync, and its version keeps stale copies out. Older versions are
      // trimmed.
      const doc = new Y.Doc({
        gc: true,
        gcFilter: (item) => !(item.parentSub != null && item.right == null && item.content instanceof Y.ContentBinary)
      })
      doc.clientID = this.resting
      const map = doc.getMap<Uint8Array>(LISTINGS_MAP)
      map.observe(init.onChange)
      doc.on('update', init.onUpdate)
      this.shards.push(doc)
      this.maps.push(map)
    }
  }

  private shard(client: number): Y.Doc {
    return this.shards[client % SHARDS] as Y.Doc
  }

  /** The structs of one client (one key's chain). */
  private structs(client: number): Structs | undefined {
    return this.shard(client).store.clients.get(client)
  }

  /** Every client (key chain) of every shard. */
  private *chains(): IterableIterator<[number, Structs]> {
    for (const doc of this.shards) yield* doc.store.clients
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
    return (this.maps[client % SHARDS] as Y.Map<Uint8Array>).get(key)
  }

  /** Every live entry. */
  *entries(): IterableIterator<[string, Uint8Array]> {
    for (const map of this.maps) yield* map.entries()
  }

  /** Every key ever written here (live, withdrawn or collected), with the item holding its last value. */
  *items(): IterableIterator<[string, Y.Item]> {
    for (const map of this.maps) yield* (map as unknown as MapInternals)._map
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
    const queue = (client: number, op: () => void) => {
      const s = client % SHARDS
      const list = work.get(s)
      if (list == null) work.set(s, [op])
      else list.push(op)
    }
    fn({
      set: (key, client, bytes) =>
        queue(client, () => {
          const doc = this.shard(client)
          doc.clientID = client
          try {
            ;(this.maps[client % SHARDS] as Y.Map<Uint8Array>).set(key, bytes)
          } finally {
            doc.clientID = this.resting
          }
        }),
      del: (key, client) => queue(client, () => (this.maps[client % SHARDS] as Y.Map<Uint8Array>).delete(key))
    })
    for (const [s, ops] of work) {
      ;(this.shards[s] as Y.Doc).transact(() => {
        for (const op of ops) op()
      })
    }
  }

  /** Applies (already validated) struct runs and delete ranges of a scanned update, shard by shard. */
  apply(scan: ScannedUpdate, runs: readonly GroupSlice[], ranges: readonly DeleteRange[]): void {
    const byShard = new Map<number, { runs: GroupSlice[]; ranges: DeleteRange[] }>()
    const at = (client: number) => {
      const s = client % SHARDS
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
      const doc = this.shards[s] as Y.Doc
      try {
        Y.applyUpdate(doc, encodeSubset(scan, work.runs, work.ranges), REMOTE)
      } finally {
        // Yjs moves a document to a random client id when a remote update carries its own; ours is never an entry's.
        doc.clientID = this.resting
      }
    }
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
    const ds = Y.mergeDeleteSets(this.shards.map((doc) => Y.createDeleteSetFromStructStore(doc.store)))
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
  *diffChunks(stateVector?: Uint8Array, chunkSize = 128 * 1024): Generator<Uint8Array> {
    const sv = stateVector != null ? Y.decodeStateVector(stateVector) : new Map<number, number>()
    const clients: number[] = []
    for (const [client] of this.chains()) clients.push(client)
    // By shard, so that a chunk's keys share few shards: applying it then costs a few Yjs transactions, not one per
    // shard, each walking its shard's state vector (a late joiner of 50,000 listings: 21 s of CPU, 13 s by shard).
    clients.sort((a, b) => (a % SHARDS) - (b % SHARDS) || b - a)
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

  /** A snapshot of the whole state (a Yjs v2 update), for persistence: restored without validation. */
  snapshot(): Uint8Array {
    return Y.convertUpdateFormatV1ToV2(this.diff())
  }

  /**
   * Restores state this node persisted itself (a Yjs v2 update: a {@link snapshot} or part of one, whole chains
   * continuing where this store's chains end). Returns false, restoring nothing, unless it is made of per-key chains
   * bound to their keys — a snapshot of an earlier version of this package (one client per seller) is not, and peers
   * would refuse its entries: the node resyncs instead.
   */
  restore(update: Uint8Array): boolean {
    let scan: ScannedUpdate
    try {
      scan = runNow(
        scanUpdate(Y.convertUpdateFormatV2ToV1(update), {
          maxUpdateSize: Number.MAX_SAFE_INTEGER,
          maxStructs: Number.MAX_SAFE_INTEGER,
          maxBinaryBytes: MAX_ENVELOPE_SIZE,
          root: LISTINGS_MAP
        })
      )
    } catch {
      return false
    }
    const runs: GroupSlice[] = []
    const ends = new Map<number, number>()
    for (let g = 0; g < scan.groups; g++) {
      const client = scan.groupClient(g)
      const end = scan.groupEnd(g)
      const state = this.state(client)
      let from = scan.groupFirst(g)
      while (from < end && scan.next(from) <= state) from++
      ends.set(client, Math.max(state, scan.next(end - 1)))
      if (from === end) continue
      for (let i = from; i < end; i++) {
        const key = scan.key(i)
        const chained =
          scan.originClient(i) < 0
            ? scan.clock(i) === 0 && key != null && entryClientId(key) === client
            : scan.originClient(i) === client && scan.originClock(i) === scan.clock(i) - 1
        if (!chained || (i === from && scan.clock(i) > state)) return false
      }
      runs.push({ from, to: end })
    }
    const ranges: DeleteRange[] = []
    for (let r = 0; r < scan.ranges; r++) {
      const client = scan.rangeClient(r)
      const clock = scan.rangeClock(r)
      if (clock < (ends.get(client) ?? this.state(client))) ranges.push({ client, clock, len: scan.rangeLen(r) })
    }
    this.apply(scan, runs, ranges)
    return true
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
