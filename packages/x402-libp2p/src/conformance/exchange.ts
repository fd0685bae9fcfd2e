import type { PeerId, Stream } from '@libp2p/interface'
import { type LengthPrefixedStream, lpStream } from '@libp2p/utils'
import { ProtocolViolationError } from '../errors.ts'
import { streamError } from '../stream-error.ts'
import { decodeWireMessage, encodeWireMessage, type WireMessage } from '../wire.ts'
import { ConformanceFailure } from './errors.ts'

/** Largest frame the suite accepts from the server: generous, the suite probes the server, not itself. */
const MAX_INBOUND_FRAME = 64 * 1024 * 1024

/** What one read from the server gave. */
export type ReadResult =
  | { kind: 'frame'; frame: WireMessage }
  /** The server closed its side or reset the stream. */
  | { kind: 'ended'; reason: string }
  /** Nothing arrived within the read's own time limit. */
  | { kind: 'timeout' }

/** How a stream ended (or did not) while the suite waited for it. */
export interface EndResult {
  ended: boolean
  /** Milliseconds from the start of the wait until the end (or until the wait gave up). */
  elapsedMs: number
  /** Frames received meanwhile. */
  frames: WireMessage[]
  reason?: string
}

/**
 * One raw `/x402/libp2p/2.0.0` stream driven by the suite: well-formed frames, arbitrary framed bytes or bare bytes
 * out; frames the server sends are decoded strictly (a malformed server frame fails the case).
 */
export class RawExchange {
  readonly stream: Stream
  /** The server's peer id, when the dialer's connection list shows it. */
  readonly remotePeer: PeerId | undefined
  private readonly lp: LengthPrefixedStream<Stream>
  private readonly signal: AbortSignal

  /** @param signal the case's signal: aborting it aborts every pending read and write. */
  constructor(stream: Stream, signal: AbortSignal, remotePeer?: PeerId) {
    this.stream = stream
    this.remotePeer = remotePeer
    this.signal = signal
    this.lp = lpStream(stream, { maxDataLength: MAX_INBOUND_FRAME })
  }

  /** Sends one well-formed frame. */
  async send(message: WireMessage): Promise<void> {
    await this.lp.write(encodeWireMessage(message), { signal: this.signal })
  }

  /** Sends `bytes` as one length-prefixed frame, whatever they contain. */
  async sendFrame(bytes: Uint8Array): Promise<void> {
    await this.lp.write(bytes, { signal: this.signal })
  }

  /** Sends bytes as they are, without a length prefix (e.g. a bare length prefix). */
  async sendRaw(bytes: Uint8Array): Promise<void> {
    if (!this.stream.send(bytes)) await this.stream.onDrain({ signal: this.signal })
  }

  /** Reads the next frame, or reports that the stream ended or that nothing came within `timeoutMs`. */
  async read(timeoutMs?: number): Promise<ReadResult> {
    const timeout = timeoutMs != null ? AbortSignal.timeout(Math.max(0, timeoutMs)) : undefined
    const signal = timeout != null ? AbortSignal.any([this.signal, timeout]) : this.signal
    let bytes: Awaited<ReturnType<LengthPrefixedStream['read']>>
    try {
      bytes = await this.lp.read({ signal })
    } catch (err) {
      if (this.signal.aborted) throw this.signal.reason
      if (timeout?.aborted === true) return { kind: 'timeout' }
      return { kind: 'ended', reason: describeError(err) }
    }
    try {
      return { kind: 'frame', frame: decodeWireMessage(bytes, { maxBodySize: MAX_INBOUND_FRAME }) }
    } catch (err) {
      if (err instanceof ProtocolViolationError) {
        throw new ConformanceFailure(`the server sent an invalid frame: ${err.message}`, { cause: err })
      }
      throw err
    }
  }

  /** Waits up to `timeoutMs` for the server to end the stream (close its side or reset), collecting its frames. */
  async waitForEnd(timeoutMs: number): Promise<EndResult> {
    const start = Date.now()
    const frames: WireMessage[] = []
    for (;;) {
      const result = await this.read(timeoutMs - (Date.now() - start))
      if (result.kind === 'frame') {
        frames.push(result.frame)
        continue
      }
      const elapsedMs = Date.now() - start
      if (result.kind === 'timeout') return { ended: false, elapsedMs, frames }
      return { ended: true, elapsedMs, frames, reason: result.reason }
    }
  }

  /** Half-closes our side (the server may still answer). */
  async close(): Promise<void> {
    await this.stream.close({ signal: this.signal }).catch((err: unknown) => this.abort(streamError(err)))
  }

  /** Resets the stream. */
  abort(reason: unknown = new Error('closed by the conformance suite')): void {
    this.stream.abort(reason instanceof Error ? reason : new Error(String(reason)))
  }
}

/** `Name: message` of anything thrown. */
export function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}
