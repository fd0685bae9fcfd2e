import { type AbortOptions, InvalidMessageError, type Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import * as Y from 'yjs'
import type { MarketplaceDoc } from '../../core/marketplace-doc.ts'
import { MAX_REJECTED_CHUNKS, SYNC_WINDOW_BYTES } from '../constants.ts'
import { SyncRefusedError } from '../errors.ts'
import type { SyncResult } from '../types.ts'
import { type ChunkReport, stateChunks } from './chunks.ts'
import { decodeFrame, encodeFrame, type Frame, FrameType } from './wire.ts'

/** What a sync session needs from the node: its held epochs and how to apply a chunk. */
export interface SyncHost {
  /** Epochs this node holds, oldest first. */
  epochs(): number[]
  /** The document of an epoch this node holds; never opens one. */
  held(epoch: number): MarketplaceDoc | undefined
  /** Validates and applies one received chunk; false when validation refused it. */
  apply(doc: MarketplaceDoc, update: Uint8Array): Promise<boolean>
}

export interface SyncLimits {
  chunkSize: number
  maxFrameSize: number
  /** Most chunk bytes accepted in one session. */
  maxSyncSize: number
  /** Longest wait for the next frame. */
  idleTimeoutMs: number
}

type Lp = ReturnType<typeof lpStream>

/** Framing, per-frame deadlines and the byte budget of one session (one stream). */
class Session {
  readonly lp: Lp
  readonly result: SyncResult = { epochs: [], applied: 0, rejected: 0, bytesReceived: 0, chunksSent: 0, bytesSent: 0 }
  private readonly host: SyncHost
  private readonly limits: SyncLimits
  private readonly signal: AbortSignal

  constructor(stream: Stream, host: SyncHost, limits: SyncLimits, signal: AbortSignal) {
    // Frames are bounded by the frame limit, and the sender never has more than a window of chunk bytes unacknowledged,
    // so the read buffer stays under frame + window.
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

  /** Sends an epoch's chunks for the peer's state vector, never more than a window ahead of its ACKs. */
  async sendChunks(epoch: number, doc: MarketplaceDoc, theirVector: Uint8Array): Promise<void> {
    const report: ChunkReport = { skipped: [] }
    let inflight = 0
    const chunks = stateChunks(
      doc.doc,
      Y.decodeStateVector(theirVector),
      {
        chunkSize: this.limits.chunkSize,
        maxFrameSize: this.limits.maxFrameSize,
        maxStructs: 20_000
      },
      report
    )
    for (const chunk of chunks) {
      while (inflight > 0 && inflight + chunk.update.byteLength > SYNC_WINDOW_BYTES)
        inflight -= await this.readAck(inflight)
      await this.write({ type: FrameType.CHUNK, epoch, update: chunk.update })
      inflight += chunk.update.byteLength
      this.result.chunksSent++
      this.result.bytesSent += chunk.update.byteLength
    }
    while (inflight > 0) inflight -= await this.readAck(inflight)
    if (report.skipped.length > 0)
      this.result.skippedClients = (this.result.skippedClients ?? 0) + report.skipped.length
  }

  private async readAck(inflight: number): Promise<number> {
    const frame = await this.read()
    if (frame.type !== FrameType.ACK) throw new InvalidMessageError(`expected ACK, got frame type ${frame.type}`)
    if (frame.bytes <= 0 || frame.bytes > inflight) throw new InvalidMessageError('ACK for bytes never sent')
    return frame.bytes
  }

  /** Applies one received chunk of an epoch the peer may send, within the session's byte and rejection budgets. */
  async receiveChunk(frame: Extract<Frame, { type: typeof FrameType.CHUNK }>, allowed: Set<number>): Promise<void> {
    if (!allowed.has(frame.epoch)) throw new InvalidMessageError(`chunk for epoch ${frame.epoch}, which was not agreed`)
    this.result.bytesReceived += frame.update.byteLength
    if (this.result.bytesReceived > this.limits.maxSyncSize) {
      throw new InvalidMessageError(`sync exceeds ${this.limits.maxSyncSize} bytes`)
    }
    const doc = this.host.held(frame.epoch)
    // An epoch dropped meanwhile (rotation): nothing to apply it to; acknowledged all the same.
    if (doc != null) {
      if (await this.host.apply(doc, frame.update)) this.result.applied++
      else if (++this.result.rejected >= MAX_REJECTED_CHUNKS) {
        throw new InvalidMessageError(`${this.result.rejected} chunks refused: the peer sends invalid state`)
      }
    }
    await this.write({ type: FrameType.ACK, bytes: frame.update.byteLength })
  }

  /** Reads CHUNK frames until END. */
  async receiveUntilEnd(allowed: Set<number>): Promise<void> {
    for (;;) {
      const frame = await this.read()
      if (frame.type === FrameType.END) return
      if (frame.type !== FrameType.CHUNK) throw new InvalidMessageError(`expected CHUNK or END, got ${frame.type}`)
      await this.receiveChunk(frame, allowed)
    }
  }
}

/**
 * The initiator's side: HELLO with our epochs and state vectors; receive the responder's chunks (applied as they
 * arrive) for the epochs it also holds; send ours for its state vectors; END; wait for its END.
 */
export async function initiateSync(
  stream: Stream,
  host: SyncHost,
  limits: SyncLimits,
  options: Required<AbortOptions>
): Promise<SyncResult> {
  const s = new Session(stream, host, limits, options.signal)
  const offered = new Map<number, MarketplaceDoc>()
  for (const epoch of host.epochs()) {
    const doc = host.held(epoch)
    if (doc != null) offered.set(epoch, doc)
  }
  await s.write({
    type: FrameType.HELLO,
    epochs: [...offered].map(([epoch, doc]) => ({ epoch, stateVector: doc.stateVector() }))
  })
  // Phase 1: the responder's state, epoch by epoch.
  const theirVectors = new Map<number, Uint8Array>()
  const allowed = new Set<number>()
  for (;;) {
    const frame = await s.read()
    if (frame.type === FrameType.BUSY) throw new SyncRefusedError(frame.retryAfterMs)
    if (frame.type === FrameType.END) break
    if (frame.type === FrameType.EPOCH) {
      if (!offered.has(frame.epoch) || theirVectors.has(frame.epoch)) {
        throw new InvalidMessageError(`EPOCH ${frame.epoch} was not offered, or announced twice`)
      }
      theirVectors.set(frame.epoch, frame.stateVector)
      allowed.clear()
      allowed.add(frame.epoch)
      continue
    }
    if (frame.type !== FrameType.CHUNK) throw new InvalidMessageError(`unexpected frame type ${frame.type}`)
    await s.receiveChunk(frame, allowed)
  }
  // Phase 2: ours, for the state vectors it announced.
  for (const [epoch, vector] of theirVectors) {
    const doc = host.held(epoch)
    if (doc != null) await s.sendChunks(epoch, doc, vector)
  }
  await s.write({ type: FrameType.END })
  const done = await s.read()
  if (done.type !== FrameType.END) throw new InvalidMessageError(`expected END, got ${done.type}`)
  s.result.epochs = [...theirVectors.keys()]
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
  if (hello.type !== FrameType.HELLO) throw new InvalidMessageError(`expected HELLO, got ${hello.type}`)
  const retryAfterMs = admit()
  if (retryAfterMs != null) {
    await s.write({ type: FrameType.BUSY, retryAfterMs })
    throw new SyncRefusedError(retryAfterMs)
  }
  const agreed = new Set<number>()
  for (const { epoch, stateVector } of hello.epochs) {
    const doc = host.held(epoch)
    if (doc == null) continue
    agreed.add(epoch)
    await s.write({ type: FrameType.EPOCH, epoch, stateVector: doc.stateVector() })
    await s.sendChunks(epoch, doc, stateVector)
  }
  await s.write({ type: FrameType.END })
  await s.receiveUntilEnd(agreed)
  await s.write({ type: FrameType.END })
  s.result.epochs = [...agreed]
  return s.result
}
