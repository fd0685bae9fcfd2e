import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { RejectedUpdateError } from '../errors.ts'
import { type DeleteRange, ScannedUpdate } from './scanned-update.ts'

/*
 * The Yjs update format v1 (yjs/src/utils/encoding.js `writeClientsStructs`/`readClientsStructRefs`,
 * DeleteSet.js `writeDeleteSet`), read here without materialising anything: Yjs' own decoder builds an Item per struct
 * and a Y.Doc per subdocument, and `Y.applyUpdate` creates a root type for every parent name it reads — before any rule
 * of ours could run. This scanner bounds the work first (struct, range and byte counts checked from the headers), and
 * accepts only the shapes a marketplace document produces: Items in the `listings` root map holding a signed record
 * (ContentBinary) or superseded history (ContentDeleted). Anything else is refused whole and cheaply.
 *
 *   update      = varuint(#groups) group* deleteSet
 *   group       = varuint(#structs) varuint(client) varuint(clock) struct*
 *   struct      = uint8(info) [origin: varuint varuint] [rightOrigin: varuint varuint]
 *                 [parent: varuint(1) varString(root) | varuint(0) id] [parentSub: varString] content
 *   info        = bits 0–4 content ref (0 GC, 10 Skip, 1 Deleted, 3 Binary, …), bit 5 parentSub, 6 rightOrigin, 7 origin
 *   deleteSet   = varuint(#clients) (varuint(client) varuint(#ranges) (varuint(clock) varuint(len))*)*
 */

const CONTENT_DELETED = 1
const CONTENT_BINARY = 3
const BITS5 = 0b11111
const HAS_PARENT_SUB = 0b0010_0000
const HAS_RIGHT_ORIGIN = 0b0100_0000
const HAS_ORIGIN = 0b1000_0000
const REFUSED_CONTENT: Record<number, string> = {
  0: 'GC struct',
  2: 'JSON content',
  4: 'string content',
  5: 'embed',
  6: 'format',
  7: 'nested type',
  8: 'Any content',
  9: 'subdocument',
  10: 'Skip struct'
}

/** No key's chain gets anywhere near this many versions in one epoch; it keeps clock arithmetic exact. */
export const MAX_CLOCK = 2 ** 32

/** How many structs a scan step covers before the caller may yield to the event loop. */
const STEP = 2_048

export interface ScanLimits {
  maxUpdateSize: number
  maxStructs: number
  /** @default maxStructs */
  maxDeleteRanges?: number
  /** Longest map key (UTF-8 bytes). @default 512 */
  maxKeyBytes?: number
  /** Largest ContentBinary (a signed record). */
  maxBinaryBytes: number
  /** The only root type items may claim. */
  root: string
}

const refuse = (message: string): never => {
  throw new RejectedUpdateError(message)
}

/**
 * A varint within `[0, max]`. lib0 reads an overlong varint (0x80 × 147, then 0x00) as NaN, which no `n > max` test
 * catches: it passed every bound, then Yjs threw a plain Error or `new Array(NaN)` on it (review of issue 13).
 */
function readUint(d: decoding.Decoder, max = Number.MAX_SAFE_INTEGER): number {
  const n = decoding.readVarUint(d)
  if (!Number.isSafeInteger(n) || n > max) refuse(`value ${n} out of range`)
  return n
}

/** A view of the next `len` bytes (lib0's readUint8Array does not check the end). */
function readBytes(d: decoding.Decoder, len: number): Uint8Array {
  if (len > d.arr.length - d.pos) refuse('truncated update')
  return decoding.readUint8Array(d, len)
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const ROOTS = new Map<string, Uint8Array>()

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Reads an update's structure in bounded steps (a generator: the caller may yield to the event loop between steps; see
 * {@link runSliced}). Throws {@link RejectedUpdateError} on the first refused shape, before anything is materialised.
 */
export function* scanUpdate(update: Uint8Array, limits: ScanLimits): Generator<void, ScannedUpdate> {
  if (update.byteLength > limits.maxUpdateSize) {
    refuse(`update of ${update.byteLength} bytes exceeds ${limits.maxUpdateSize}`)
  }
  const maxRanges = limits.maxDeleteRanges ?? limits.maxStructs
  const maxKey = limits.maxKeyBytes ?? 512
  let root = ROOTS.get(limits.root)
  if (root == null) {
    root = new TextEncoder().encode(limits.root)
    ROOTS.set(limits.root, root)
  }
  const d = decoding.createDecoder(update)
  const scan = new ScannedUpdate(update)
  const clients = new Set<number>()
  try {
    const groupCount = readUint(d, limits.maxStructs)
    for (let g = 0; g < groupCount; g++) {
      const count = readUint(d)
      if (count === 0) refuse('empty struct group')
      if (scan.structs + count > limits.maxStructs) refuse(`update has more than ${limits.maxStructs} structs`)
      const client = readUint(d)
      if (clients.has(client)) refuse(`client ${client} appears twice`)
      clients.add(client)
      let clock = readUint(d, MAX_CLOCK)
      scan.addGroup(client, clock, scan.structs, count)
      for (let i = 0; i < count; i++) {
        if (i > 0 && i % STEP === 0) yield
        const start = d.pos
        const info = decoding.readUint8(d)
        if (info === undefined) refuse('truncated update')
        const ref = info & BITS5
        if (ref !== CONTENT_DELETED && ref !== CONTENT_BINARY) {
          refuse(`${REFUSED_CONTENT[ref] ?? `content type ${ref}`} refused: only listings-map entries are accepted`)
        }
        if ((info & HAS_RIGHT_ORIGIN) !== 0) refuse('items are only appended to a key, never inserted before another')
        let originClient = -1
        let originClock = -1
        let key: [number, number] | undefined
        if ((info & HAS_ORIGIN) !== 0) {
          originClient = readUint(d)
          originClock = readUint(d, MAX_CLOCK)
        } else {
          // No origin: the item states its parent — which must be the listings root map — and its key.
          if (readUint(d) !== 1) refuse('items must be entries of the listings map (nested parent)')
          const name = readBytes(d, readUint(d))
          if (!equalBytes(name, root)) refuse('items must be entries of the listings map (other root type)')
          if ((info & HAS_PARENT_SUB) === 0) refuse('items must be entries of the listings map (no key)')
          const keyLength = readUint(d)
          if (keyLength > maxKey) refuse(`key longer than ${maxKey} bytes`)
          const keyStart = d.pos
          utf8.decode(readBytes(d, keyLength)) // as Yjs will: invalid UTF-8 throws
          key = [keyStart, d.pos]
        }
        let length = 1
        let bin: [number, number] | undefined
        if (ref === CONTENT_DELETED) {
          length = readUint(d, MAX_CLOCK)
          if (length === 0) refuse('empty deleted item')
        } else {
          const size = readUint(d)
          if (size > limits.maxBinaryBytes) refuse(`entry of ${size} bytes exceeds ${limits.maxBinaryBytes}`)
          const binStart = d.pos
          readBytes(d, size)
          bin = [binStart, d.pos]
        }
        if (clock + length > MAX_CLOCK) refuse('clock out of range')
        scan.addStruct(
          client,
          clock,
          length,
          ref === CONTENT_DELETED,
          originClient,
          originClock,
          key,
          bin,
          start,
          d.pos
        )
        clock += length
      }
      yield
    }
    const dsClients = readUint(d, maxRanges)
    const dsSeen = new Set<number>()
    for (let c = 0; c < dsClients; c++) {
      const client = readUint(d)
      if (dsSeen.has(client)) refuse(`client ${client} appears twice in the delete set`)
      dsSeen.add(client)
      const ranges = readUint(d)
      if (ranges === 0) refuse('empty delete-set entry')
      if (scan.ranges + ranges > maxRanges) refuse(`update deletes more than ${maxRanges} ranges`)
      for (let r = 0; r < ranges; r++) {
        if (r % STEP === STEP - 1) yield
        const clock = readUint(d, MAX_CLOCK)
        const len = readUint(d, MAX_CLOCK)
        if (len === 0) refuse('empty delete range')
        if (clock + len > MAX_CLOCK) refuse('delete range out of range')
        scan.addRange(client, clock, len)
      }
      yield
    }
  } catch (err) {
    if (err instanceof RejectedUpdateError) throw err
    refuse(`undecodable update: ${(err as Error).message}`)
  }
  if (decoding.hasContent(d)) refuse('trailing bytes after the delete set')
  return scan
}

/** A run of one group's structs, `structs[from … to)`, to re-encode. */
export interface GroupSlice {
  from: number
  to: number
}

/**
 * Encodes a subset of a scanned update (whole struct runs copied byte for byte, each run starting at its first
 * struct's clock) and a delete set, as a Yjs v1 update.
 */
export function encodeSubset(scan: ScannedUpdate, runs: readonly GroupSlice[], ds: readonly DeleteRange[]): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, runs.length)
  for (const { from, to } of runs) {
    encoding.writeVarUint(e, to - from)
    encoding.writeVarUint(e, scan.client(from))
    encoding.writeVarUint(e, scan.clock(from))
    encoding.writeUint8Array(e, scan.update.subarray(scan.start(from), scan.end(to - 1)))
  }
  writeRanges(e, ds)
  return encoding.toUint8Array(e)
}

/** A v1 delete set of `ranges` (grouped by client, in order of first appearance). */
export function writeRanges(e: encoding.Encoder, ranges: readonly DeleteRange[]): void {
  const byClient = new Map<number, DeleteRange[]>()
  for (const r of ranges) {
    const list = byClient.get(r.client)
    if (list == null) byClient.set(r.client, [r])
    else list.push(r)
  }
  encoding.writeVarUint(e, byClient.size)
  for (const [client, list] of byClient) {
    encoding.writeVarUint(e, client)
    encoding.writeVarUint(e, list.length)
    for (const r of list) {
      encoding.writeVarUint(e, r.clock)
      encoding.writeVarUint(e, r.len)
    }
  }
}
