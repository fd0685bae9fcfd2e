import { type AbortOptions, InvalidMessageError, type Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import * as Y from 'yjs'
import type { MarketplaceDoc } from '../../core/marketplace-doc.ts'
import { MAX_REJECTED_CHUNKS, MAX_VECTOR_BYTES, SYNC_WINDOW_BYTES } from '../constants.ts'
import { SyncRefusedError } from '../errors.ts'
import type { SyncResult } from '../types.ts'
import { splitVector } from './vector-parts.ts'
import { type BulkFrame, decodeFrame, encodeFrame, type Frame, FrameType } from './wire.ts'

/** What a sync session needs from the node: its held epochs and how to apply a chunk. */
export interface SyncHost {
  /** Epochs this node holds, oldest first. */
  epochs(): number[]
  /** The document of an epoch this node holds; never opens one. */
  held(epoch: number): MarketplaceDoc | undefined
  /** Validates and applies one received chunk (counting dropped entries in `result`); false when refused whole. */
  apply(doc: MarketplaceDoc, update: Uint8Array, result: SyncResult): Promise<boolean>
}

export interface SyncLimits {
  chunkSize: number
  maxFrameSize: number
  /** Most bulk bytes (state vectors and chunks) accepted in one session. */
  maxSyncSize: number
  /** Longest wait for the next frame. */
  idleTimeoutMs: number
}

type Chunk = Extract<Frame, { type: typeof FrameType.CHUNK }>
type Vector = Extract<Frame, { type: typeof FrameType.VECTOR }>

/**
 * One side of a session: framing with per-frame deadlines, bulk frames sent at most a window ahead of the peer's ACKs
 * (the byte stream below has no back-pressure: whatever arrives is buffered, up to its 4 MiB cap), and the budgets of
 * what it accepts.
 */
class Session {
  readonly result: SyncResult = { epochs: [], applied: 0, rejected: 0, bytesReceived: 0, chunksSent: 0, bytesSent: 0 }
  private readonly lp: ReturnType<typeof lpStream>
  private readonly host: SyncHost
  private readonly limits: SyncLimits
  private readonly signal: AbortSignal
  private inflight = 0

  constructor(stream: Stream, host: SyncHost, limits: SyncLimits, signal: AbortSignal) {
    // The peer never has more than a window of bulk bytes unacknowledged, so the read buffer stays under frame + window.
    this.lp = lpStream(stream, {
      maxDataLength: limits.maxFrameSize + 64,
      maxBufferSize: limits.maxFrameSize + SYNC_WINDOW_BYTES + 64 * 1024
    })
    this.host = host
    this.limits = limits
    this.signal = signal
  }

  async read(): Promise<Frame> {
    const signal = AbortSignal.any([this.signal, AbortSignal.timeout(this.limits.idleTimeoutMs)])
    return decodeFrame(await this.lp.read({ signal }))
  }

  async write(frame: Frame): Promise<void> {
    await this.lp.write(encodeFrame(frame), { signal: this.signal })
  }

  /** Sends a bulk frame once the window allows it. */
  async send(frame: BulkFrame): Promise<void> {
    const size = frame.type === FrameType.CHUNK ? frame.update.byteLength : frame.stateVector.byteLength
    while (this.inflight > 0 && this.inflight + size > SYNC_WINDOW_BYTES) await this.readAck()
    await this.write(frame)
    this.inflight += size
    if (frame.type === FrameType.CHUNK) {
      this.result.chunksSent++
      this.result.bytesSent += size
    }
  }

  /** Waits until every bulk frame sent was acknowledged, then ends the phase. */
  async end(): Promise<void> {
    while (this.inflight > 0) await this.readAck()
    await this.write({ type: FrameType.END })
  }

  private async readAck(): Promise<void> {
    const frame = await this.read()
    if (frame.type === FrameType.BUSY) throw new SyncRefusedError(frame.retryAfterMs)
    if (frame.type !== FrameType.ACK) throw new InvalidMessageError(`expected ACK, got frame type ${frame.type}`)
    if (frame.bytes <= 0 || frame.bytes > this.inflight) throw new InvalidMessageError('ACK for bytes never sent')
    this.inflight -= frame.bytes
  }

  async sendVector(epoch: number, doc: MarketplaceDoc): Promise<void> {
    for (const stateVector of splitVector(doc.stateVector(), this.limits.chunkSize)) {
      await this.send({ type: FrameType.VECTOR, epoch, stateVector })
    }
  }

  /**
   * Sends what a peer lacks of an epoch, in chunks of whole clients (the document's `diffChunks`, encoded one at a time
   * as the window allows). Its state vector arrived in `parts`; the document reads only the clients it has now from them
   * (the rest cannot matter), so however many a peer lists, what we hold in memory is bounded by our own state.
   */
  async sendChunks(epoch: number, doc: MarketplaceDoc, parts: readonly Uint8Array[]): Promise<void> {
    for (const update of doc.diffChunks(parts, this.limits.chunkSize)) {
      if (update.byteLength + 64 > this.limits.maxFrameSize) {
        // One key's chain never gets near a frame; the peer would refuse it, so it is left to gossip.
        this.result.skippedChunks = (this.result.skippedChunks ?? 0) + 1
        continue
      }
      await this.send({ type: FrameType.CHUNK, epoch, update })
    }
  }

  /** Counts received bulk bytes against the session's budget. */
  private received(bytes: number): void {
    this.result.bytesReceived += bytes
    if (this.result.bytesReceived > this.limits.maxSyncSize) {
      throw new InvalidMessageError(`sync exceeds ${this.limits.maxSyncSize} bytes`)
    }
  }

  /**
   * Keeps a received state vector part (checked to decode) and acknowledges it. Its bytes count against the session's
   * budget and {@link MAX_VECTOR_BYTES}; it is read when our chunks for the peer are computed.
   */
  async receiveVector(frame: Vector, into: Uint8Array[]): Promise<void> {
    this.received(frame.stateVector.byteLength)
    this.vectorBytes += frame.stateVector.byteLength
    if (this.vectorBytes > MAX_VECTOR_BYTES)
      throw new InvalidMessageError(`state vectors over ${MAX_VECTOR_BYTES} bytes`)
    try {
      Y.decodeStateVector(frame.stateVector)
    } catch {
      throw new InvalidMessageError('unreadable state vector')
    }
    into.push(frame.stateVector)
    await this.write({ type: FrameType.ACK, bytes: frame.stateVector.byteLength })
  }

  private vectorBytes = 0

  /**
   * Starts applying one received chunk (of an epoch both agreed on), within the budgets; it is acknowledged once
   * applied. Up to {@link APPLY_AHEAD} chunks are in hand at once, so that verifying one chunk's signatures (partly on
   * a worker thread) overlaps applying another: chunks hold disjoint clients, so their order does not matter.
   */
  async receiveChunk(frame: Chunk): Promise<void> {
    this.received(frame.update.byteLength)
    while (this.applying.length >= APPLY_AHEAD) await this.applying.shift()
    const task = this.applyAndAck(frame)
    task.catch(() => undefined) // surfaces when awaited (in order), not as an unhandled rejection
    this.applying.push(task)
  }

  /** Waits for every chunk in hand to be applied and acknowledged. */
  async drain(): Promise<void> {
    while (this.applying.length > 0) await this.applying.shift()
  }

  private readonly applying: Array<Promise<void>> = []

  private async applyAndAck(frame: Chunk): Promise<void> {
    // Buffered frames are read without a macrotask in between: let timers and I/O run before each chunk.
    await new Promise((resolve) => setImmediate(resolve))
    const doc = this.host.held(frame.epoch)
    // An epoch dropped meanwhile (rotation): nothing to apply it to; acknowledged all the same.
    if (doc != null) {
      if (await this.host.apply(doc, frame.update, this.result)) this.result.applied++
      else if (++this.result.rejected >= MAX_REJECTED_CHUNKS) {
        throw new InvalidMessageError(`${this.result.rejected} chunks refused: the peer sends invalid state`)
      }
    }
    await this.write({ type: FrameType.ACK, bytes: frame.update.byteLength })
  }
}

/** Chunks a receiver applies at once. */
const APPLY_AHEAD = 2

const unexpected = (frame: Frame, expected: string): never => {
  throw new InvalidMessageError(`expected ${expected}, got frame type ${frame.type}`)
}

/**
 * The initiator's side: HELLO (our epochs) and our state vectors; the responder's state vector and chunks for each
 * epoch both hold, applied as they arrive; our chunks for its state vectors; END both ways.
 */
export async function initiateSync(
  stream: Stream,
  host: SyncHost,
  limits: SyncLimits,
  options: Required<AbortOptions>
): Promise<SyncResult> {
  const s = new Session(stream, host, limits, options.signal)
  const offered = host.epochs().filter((epoch) => host.held(epoch) != null)
  await s.write({ type: FrameType.HELLO, epochs: offered })
  for (const epoch of offered) {
    const doc = host.held(epoch)
    if (doc != null) await s.sendVector(epoch, doc)
  }
  await s.end()

  // The responder's state vector and chunks, epoch by epoch.
  const theirs = new Map<number, Uint8Array[]>()
  let current: number | undefined
  for (;;) {
    const frame = await s.read()
    if (frame.type === FrameType.END) break
    if (frame.type === FrameType.BUSY) throw new SyncRefusedError(frame.retryAfterMs)
    if (frame.type === FrameType.EPOCH) {
      if (!offered.includes(frame.epoch) || theirs.has(frame.epoch)) {
        throw new InvalidMessageError(`EPOCH ${frame.epoch} was not offered, or announced twice`)
      }
      theirs.set(frame.epoch, [])
      current = frame.epoch
    } else if (frame.type === FrameType.VECTOR || frame.type === FrameType.CHUNK) {
      if (frame.epoch !== current)
        throw new InvalidMessageError(`frame for epoch ${frame.epoch}, not the announced one`)
      if (frame.type === FrameType.VECTOR) await s.receiveVector(frame, theirs.get(current) as Uint8Array[])
      else await s.receiveChunk(frame)
    } else unexpected(frame, 'EPOCH, VECTOR, CHUNK or END')
  }
  await s.drain()

  // Ours, for the state vectors it sent.
  for (const [epoch, vector] of theirs) {
    const doc = host.held(epoch)
    if (doc != null) await s.sendChunks(epoch, doc, vector)
  }
  await s.end()
  const done = await s.read()
  if (done.type !== FrameType.END) unexpected(done, 'END')
  s.result.epochs = [...theirs.keys()]
  return s.result
}

/**
 * The responder's side. `admit` runs after the HELLO: when it returns a delay, the peer is answered BUSY. Epochs the
 * peer lists that this node does not hold are skipped: a peer never makes a node open a document.
 */
export async function answerSync(
  stream: Stream,
  host: SyncHost,
  limits: SyncLimits,
  options: Required<AbortOptions>,
  admit: () => number | undefined
): Promise<SyncResult> {
  const s = new Session(stream, host, limits, options.signal)
  const hello = await s.read()
  if (hello.type !== FrameType.HELLO) unexpected(hello, 'HELLO')
  const offered = (hello as Extract<Frame, { type: typeof FrameType.HELLO }>).epochs
  const retryAfterMs = admit()
  if (retryAfterMs != null) {
    await s.write({ type: FrameType.BUSY, retryAfterMs })
    throw new SyncRefusedError(retryAfterMs)
  }
  // Their state vectors, for the epochs they offered.
  const theirs = new Map<number, Uint8Array[]>(offered.map((epoch) => [epoch, []]))
  for (;;) {
    const frame = await s.read()
    if (frame.type === FrameType.END) break
    if (frame.type !== FrameType.VECTOR) unexpected(frame, 'VECTOR or END')
    const vector = frame as Vector
    const into = theirs.get(vector.epoch)
    if (into == null) throw new InvalidMessageError(`state vector for epoch ${vector.epoch}, which was not offered`)
    await s.receiveVector(vector, into)
  }
  // Ours and our chunks, for the epochs we hold too.
  const agreed: number[] = []
  for (const [epoch, vector] of theirs) {
    const doc = host.held(epoch)
    if (doc == null) continue
    agreed.push(epoch)
    await s.write({ type: FrameType.EPOCH, epoch })
    await s.sendVector(epoch, doc)
    await s.sendChunks(epoch, doc, vector)
  }
  await s.end()
  // Their chunks.
  for (;;) {
    const frame = await s.read()
    if (frame.type === FrameType.END) break
    if (frame.type !== FrameType.CHUNK) unexpected(frame, 'CHUNK or END')
    const chunk = frame as Chunk
    if (!agreed.includes(chunk.epoch)) throw new InvalidMessageError(`chunk for epoch ${chunk.epoch}, not agreed`)
    await s.receiveChunk(chunk)
  }
  await s.drain()
  await s.write({ type: FrameType.END })
  s.result.epochs = agreed
  return s.result
}
