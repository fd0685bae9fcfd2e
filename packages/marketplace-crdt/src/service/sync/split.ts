import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

/*
 * Splitting this node's own Yjs v1 updates (a document's `diff`) into parts that can each be validated and applied on
 * their own, in order. The layout (yjs/src/utils/encoding.js `writeClientsStructs`, DeleteSet.js `writeDeleteSet`):
 *
 *   update    = varuint(#groups) group* deleteSet
 *   group     = varuint(#structs) varuint(client) varuint(clock) struct*
 *   struct    = uint8(info) [origin: varuint varuint] [rightOrigin: varuint varuint]
 *               [parent: varuint(1) varString | varuint(0) varuint varuint] [parentSub: varString] content
 *   deleteSet = varuint(#clients) (varuint(client) varuint(#ranges) (varuint(clock) varuint(len))*)*
 *
 * A part holds whole groups — a client's structs from the peer's clock on — and the deleted ranges of those clients:
 * validation needs a key's history and its live entry together, and a client's clocks must stay contiguous. Only the
 * shapes a marketplace document produces are read (ContentDeleted, ContentBinary; GC and Skip by length): the input is
 * our own encoder's output, never a peer's.
 */

const HAS_ORIGIN = 0x80
const HAS_RIGHT_ORIGIN = 0x40
const HAS_PARENT_SUB = 0x20

function skipStruct(d: decoding.Decoder): void {
  const info = decoding.readUint8(d)
  const ref = info & 0x1f
  if (ref === 0 || ref === 10) {
    decoding.readVarUint(d) // GC or Skip: a length
    return
  }
  if ((info & HAS_ORIGIN) !== 0) {
    decoding.readVarUint(d)
    decoding.readVarUint(d)
  }
  if ((info & HAS_RIGHT_ORIGIN) !== 0) {
    decoding.readVarUint(d)
    decoding.readVarUint(d)
  }
  if ((info & (HAS_ORIGIN | HAS_RIGHT_ORIGIN)) === 0) {
    if (decoding.readVarUint(d) === 1) decoding.readVarString(d)
    else {
      decoding.readVarUint(d)
      decoding.readVarUint(d)
    }
    if ((info & HAS_PARENT_SUB) !== 0) decoding.readVarString(d)
  }
  if (ref === 1)
    decoding.readVarUint(d) // ContentDeleted: a length
  else if (ref === 3)
    decoding.readVarUint8Array(d) // ContentBinary
  else throw new Error(`content type ${ref} does not occur in a marketplace document`)
}

/** How a sender cuts an update into parts. */
export interface SplitLimits {
  /** Clients are grouped into parts of about this many bytes. */
  chunkSize: number
  /** Most structs in one part, unless one client alone has more. */
  maxStructs: number
  /** A client whose part alone exceeds this is left out (a receiver would refuse the frame). */
  maxFrameSize: number
}

/** What {@link splitUpdate} left out. */
export interface SplitReport {
  /** Clients whose part alone was larger than a frame. */
  skipped: number[]
}

interface ClientPart {
  client: number
  structs: Uint8Array | undefined
  count: number
  deletions: Uint8Array | undefined
}

function assemble(parts: ClientPart[]): Uint8Array {
  const e = encoding.createEncoder()
  const withStructs = parts.filter((p) => p.structs != null)
  encoding.writeVarUint(e, withStructs.length)
  for (const p of withStructs) encoding.writeUint8Array(e, p.structs as Uint8Array)
  const withDeletions = parts.filter((p) => p.deletions != null)
  encoding.writeVarUint(e, withDeletions.length)
  for (const p of withDeletions) encoding.writeUint8Array(e, p.deletions as Uint8Array)
  return encoding.toUint8Array(e)
}

/**
 * Cuts a Yjs v1 update into parts of whole clients (structs and deleted ranges), of about `chunkSize` bytes each.
 * Applying the parts in order gives what applying the whole update gives.
 */
export function* splitUpdate(
  update: Uint8Array,
  limits: SplitLimits,
  report: SplitReport = { skipped: [] }
): Generator<Uint8Array> {
  const d = decoding.createDecoder(update)
  const byClient = new Map<number, ClientPart>()
  const order: ClientPart[] = []
  const partOf = (client: number): ClientPart => {
    let part = byClient.get(client)
    if (part == null) {
      part = { client, structs: undefined, count: 0, deletions: undefined }
      byClient.set(client, part)
      order.push(part)
    }
    return part
  }
  for (let groups = decoding.readVarUint(d); groups > 0; groups--) {
    const start = d.pos
    const count = decoding.readVarUint(d)
    const client = decoding.readVarUint(d)
    decoding.readVarUint(d) // first clock
    for (let i = 0; i < count; i++) skipStruct(d)
    const part = partOf(client)
    part.structs = update.subarray(start, d.pos)
    part.count = count
  }
  for (let clients = decoding.readVarUint(d); clients > 0; clients--) {
    const start = d.pos
    const client = decoding.readVarUint(d)
    for (let ranges = decoding.readVarUint(d); ranges > 0; ranges--) {
      decoding.readVarUint(d)
      decoding.readVarUint(d)
    }
    partOf(client).deletions = update.subarray(start, d.pos)
  }

  let batch: ClientPart[] = []
  let bytes = 0
  let structs = 0
  for (const part of order) {
    const size = (part.structs?.byteLength ?? 0) + (part.deletions?.byteLength ?? 0)
    if (size + 16 > limits.maxFrameSize) {
      report.skipped.push(part.client)
      continue
    }
    if (batch.length > 0 && (bytes + size > limits.chunkSize || structs + part.count > limits.maxStructs)) {
      yield assemble(batch)
      batch = []
      bytes = 0
      structs = 0
    }
    batch.push(part)
    bytes += size
    structs += part.count
  }
  if (batch.length > 0) yield assemble(batch)
}

/**
 * Cuts an encoded state vector (`varuint(#entries) (varuint(client) varuint(clock))*`) into encoded state vectors of
 * at most about `maxBytes` each: a state vector grows with the number of clients (one per listing key), so it travels
 * in parts like the state itself.
 */
export function* splitVector(vector: Uint8Array, maxBytes: number): Generator<Uint8Array> {
  const d = decoding.createDecoder(vector)
  let left = decoding.readVarUint(d)
  while (left > 0) {
    const start = d.pos
    let n = 0
    while (left > 0 && d.pos - start < maxBytes) {
      decoding.readVarUint(d)
      decoding.readVarUint(d)
      left--
      n++
    }
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, n)
    encoding.writeUint8Array(e, vector.subarray(start, d.pos))
    yield encoding.toUint8Array(e)
  }
}
