import type { AbortOptions, Stream } from '@libp2p/interface'
import { type LengthPrefixedStream, lpStream } from '@libp2p/utils'
import { FRAME_OVERHEAD } from './constants.ts'
import { ProtocolViolationError } from './errors.ts'
import { streamError } from './stream-error.ts'
import { decodeWireMessage, encodeWireMessage, type WireLimits, type WireMessage } from './wire.ts'

/** Where an exchange's frames are written: a {@link Channel}, or one exchange of a session (spec §2.1). */
export interface FrameSink {
  write(message: WireMessage, options?: AbortOptions): Promise<void>
}

/** Options for a {@link Channel}. */
export interface ChannelOptions extends WireLimits {
  /** Time allowed for each inbound frame. */
  frameTimeoutMs: number
}

/**
 * One x402 exchange on one stream: length-prefixed protobuf frames, each read bounded in size (checked from the
 * length prefix, before the body is read) and in time.
 */
export class Channel implements FrameSink {
  readonly stream: Stream
  private readonly lp: LengthPrefixedStream<Stream>
  private readonly options: ChannelOptions

  constructor(stream: Stream, options: ChannelOptions) {
    this.stream = stream
    this.options = options
    this.lp = lpStream(stream, { maxDataLength: options.maxBodySize + FRAME_OVERHEAD })
  }

  /** The protocol negotiated on the stream. */
  get protocol(): string {
    return this.stream.protocol
  }

  /** Reads and validates the next frame. Throws on timeout, oversize, malformed data or end of stream. */
  async read(options: AbortOptions = {}): Promise<WireMessage> {
    const timeout = AbortSignal.timeout(this.options.frameTimeoutMs)
    const signal = options.signal != null ? AbortSignal.any([timeout, options.signal]) : timeout
    let frame: Awaited<ReturnType<LengthPrefixedStream['read']>>
    try {
      frame = await this.lp.read({ signal })
    } catch (err) {
      if (timeout.aborted) throw new ProtocolViolationError(`no frame within ${this.options.frameTimeoutMs} ms`)
      const name = (err as Error).name
      if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') {
        throw new ProtocolViolationError(`frame too large: ${(err as Error).message}`, { cause: err })
      }
      throw err
    }
    return decodeWireMessage(frame, this.options)
  }

  /** Writes one frame. */
  async write(message: WireMessage, options: AbortOptions = {}): Promise<void> {
    await this.lp.write(encodeWireMessage(message), options)
  }

  /** Half-closes our side after the last frame. */
  async close(options: AbortOptions = {}): Promise<void> {
    await this.stream.close(options).catch((err: unknown) => this.stream.abort(streamError(err)))
  }

  /** Resets the stream. */
  abort(err: Error): void {
    this.stream.abort(err)
  }
}
