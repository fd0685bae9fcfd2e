import type { AbortOptions, Stream } from '@libp2p/interface'
import { type LengthPrefixedStream, lpStream } from '@libp2p/utils'
import { FRAME_OVERHEAD } from './constants.ts'
import { ProtocolViolationError } from './errors.ts'
import { decodeWireMessage, encodeWireMessage, type WireLimits, type WireMessage } from './wire.ts'

/**
 * A frame that ends one exchange on a session (spec §2.1): the server's last word to a `REQUEST` or `PAID_REQUEST` —
 * `PAYMENT_REQUIRED`, `ERROR`, or the `RESPONSE` frame with `final` set.
 */
export function isFinalFrame(message: WireMessage): boolean {
  return (
    message.type === 'PAYMENT_REQUIRED' ||
    message.type === 'ERROR' ||
    (message.type === 'RESPONSE' && message.response.final)
  )
}

/**
 * The frames of a `/x402/libp2p/2.1.0` session stream (spec §2.1): the 2.0.0 framing — varint length, protobuf
 * `Message`, each read bounded in size before its body is read — with writes coalesced: the frames written in one
 * tick (answers of several exchanges finishing together) leave in one write to the muxer, so one muxer frame and one
 * encryption carry them.
 */
export class SessionStream {
  readonly stream: Stream
  private readonly lp: LengthPrefixedStream<Stream>
  private readonly limits: WireLimits
  private queue: Uint8Array[] = []
  private flush: Promise<void> | undefined

  constructor(stream: Stream, limits: WireLimits) {
    this.stream = stream
    this.limits = limits
    this.lp = lpStream(stream, { maxDataLength: limits.maxBodySize + FRAME_OVERHEAD })
  }

  /**
   * The next frame, or `undefined` once the remote closed its side. Throws {@link ProtocolViolationError} for an
   * oversized or malformed frame, and whatever the stream throws when it was reset or `options.signal` aborted (a read
   * cut off mid-frame leaves the stream unusable: close it).
   */
  async read(options: AbortOptions = {}): Promise<WireMessage | undefined> {
    let frame: Awaited<ReturnType<LengthPrefixedStream['read']>>
    try {
      frame = await this.lp.read(options)
    } catch (err) {
      const name = (err as Error).name
      if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') {
        throw new ProtocolViolationError(`frame too large: ${(err as Error).message}`, { cause: err })
      }
      if (name === 'UnexpectedEOFError') return undefined
      throw err
    }
    return decodeWireMessage(frame, this.limits)
  }

  /**
   * Queues one frame; the frames queued before the next microtask go out together. Resolves once they were handed to
   * the stream (after a `drain` when the stream asked for one); rejects when the stream can no longer be written.
   */
  write(message: WireMessage, options: AbortOptions = {}): Promise<void> {
    this.queue.push(encodeWireMessage(message))
    if (this.flush == null) {
      this.flush = Promise.resolve().then(() => {
        const frames = this.queue
        this.queue = []
        this.flush = undefined
        return this.lp.writeV(frames, options)
      })
    }
    return this.flush
  }
}
