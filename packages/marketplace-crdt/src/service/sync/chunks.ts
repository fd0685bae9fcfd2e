import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'

/** How a sender cuts an epoch's state into chunks. */
export interface ChunkLimits {
  /** Sellers are grouped into chunks of about this many bytes. */
  chunkSize: number
  /** Most structs in one chunk, unless one seller alone has more. */
  maxStructs: number
  /** A seller whose part alone exceeds this is left out (a receiver would refuse the frame). */
  maxFrameSize: number
}

/** One chunk: a Yjs v1 update holding whole sellers. */
export interface StateChunk {
  update: Uint8Array
  structs: number
}

/** A client's part of an update: its new structs, and its deleted ranges. */
interface ClientPart {
  client: number
  structs: Uint8Array | undefined
  count: number
  deletions: Uint8Array | undefined
}

/**
 * Encodes the structs of `client` from `clock` on, exactly as Yjs' own `writeStructs` does for a v1 update (count,
 * client, first clock, then each struct; the first one written from an offset when `clock` falls inside it).
 */
function encodeStructs(structs: Array<Y.Item | Y.GC>, client: number, from: number): [Uint8Array, number] {
  const first = structs[0] as Y.Item | Y.GC
  const clock = Math.max(from, first.id.clock)
  const start = Y.findIndexSS(structs, clock)
  const encoder = new Y.UpdateEncoderV1()
  encoding.writeVarUint(encoder.restEncoder, structs.length - start)
  encoder.writeClient(client)
  encoding.writeVarUint(encoder.restEncoder, clock)
  const head = structs[start] as Y.Item | Y.GC
  head.write(encoder, clock - head.id.clock)
  for (let i = start + 1; i < structs.length; i++) (structs[i] as Y.Item | Y.GC).write(encoder, 0)
  return [encoder.toUint8Array(), structs.length - start]
}

/** The deleted ranges of one client, in the v1 delete-set layout (client, count, then clock/length pairs). */
function encodeDeletions(structs: Array<Y.Item | Y.GC>, client: number): Uint8Array | undefined {
  const ranges: number[] = []
  let start = -1
  let end = -1
  for (const s of structs) {
    if (!s.deleted) continue
    if (s.id.clock === end) {
      end += s.length
      continue
    }
    if (start >= 0) ranges.push(start, end - start)
    start = s.id.clock
    end = start + s.length
  }
  if (start >= 0) ranges.push(start, end - start)
  if (ranges.length === 0) return undefined
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, client)
  encoding.writeVarUint(e, ranges.length / 2)
  for (const n of ranges) encoding.writeVarUint(e, n)
  return encoding.toUint8Array(e)
}

function assemble(parts: ClientPart[]): StateChunk {
  const e = encoding.createEncoder()
  const withStructs = parts.filter((p) => p.structs != null)
  encoding.writeVarUint(e, withStructs.length)
  for (const p of withStructs) encoding.writeUint8Array(e, p.structs as Uint8Array)
  const withDeletions = parts.filter((p) => p.deletions != null)
  encoding.writeVarUint(e, withDeletions.length)
  for (const p of withDeletions) encoding.writeUint8Array(e, p.deletions as Uint8Array)
  return { update: encoding.toUint8Array(e), structs: parts.reduce((n, p) => n + p.count, 0) }
}

/** What {@link stateChunks} left out. */
export interface ChunkReport {
  /** Clients whose part alone was larger than a frame. */
  skipped: number[]
}

/**
 * Everything a peer with state vector `theirs` lacks, as a series of Yjs v1 updates that can each be validated and
 * applied on their own, in order: every seller (Yjs client) travels whole in one chunk — its new entries from the
 * peer's clock on, and all its deleted ranges — because validation needs a key's history and its live entry together
 * and clocks must stay contiguous. Applying all chunks gives what `Y.encodeStateAsUpdate(doc, theirs)` would.
 *
 * A generator, so that chunks are encoded as they are sent; each client is encoded in one synchronous step, so the
 * document may change between chunks (new entries then reach the peer by gossip).
 */
export function* stateChunks(
  doc: Y.Doc,
  theirs: Map<number, number>,
  limits: ChunkLimits,
  report: ChunkReport = { skipped: [] }
): Generator<StateChunk> {
  const clients = [...doc.store.clients.keys()].sort((a, b) => b - a) // Yjs writes higher client ids first
  let parts: ClientPart[] = []
  let bytes = 0
  let count = 0
  for (const client of clients) {
    const structs = doc.store.clients.get(client)
    if (structs == null || structs.length === 0) continue
    const from = theirs.get(client) ?? 0
    const [encoded, n] = Y.getState(doc.store, client) > from ? encodeStructs(structs, client, from) : [undefined, 0]
    const deletions = encodeDeletions(structs, client)
    if (encoded == null && deletions == null) continue
    const size = (encoded?.byteLength ?? 0) + (deletions?.byteLength ?? 0)
    if (size + 16 > limits.maxFrameSize) {
      report.skipped.push(client)
      continue
    }
    if (parts.length > 0 && (bytes + size > limits.chunkSize || count + n > limits.maxStructs)) {
      yield assemble(parts)
      parts = []
      bytes = 0
      count = 0
    }
    parts.push({ client, structs: encoded, count: n, deletions })
    bytes += size
    count += n
  }
  if (parts.length > 0) yield assemble(parts)
}
