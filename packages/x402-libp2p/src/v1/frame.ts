/**
 * The `/x402/libp2p/1.0.0` frame, as Go's `writeX402Frame`/`readX402Frame` (asabya/betar `internal/p2p/x402stream.go`)
 * lay it out:
 *
 * ```
 * [type_len: uint16 BE][type: UTF-8, 1..128 bytes][data_len: uint32 BE][data: 0..8 MiB]
 * ```
 *
 * One frame per stream in each direction; the Go side closes the stream after writing its frame.
 */
import type { AbortOptions, Stream } from '@libp2p/interface'
import { byteStream } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { V1_MAX_DATA_LENGTH, V1_MAX_TYPE_LENGTH, V1_MIN_TYPE_LENGTH } from './constants.ts'
import { InvalidV1FrameError, V1FrameTooLargeError } from './errors.ts'

export { InvalidV1FrameError, V1FrameTooLargeError } from './errors.ts'

/** One decoded frame. */
export interface V1Frame {
  /** The frame type, e.g. `x402.request`. */
  readonly type: string
  /** The frame data (a JSON document for the five known types). */
  readonly data: Uint8Array
}

/** Limits applied when encoding or decoding a frame. */
export interface V1FrameLimitOptions {
  /** Largest data length accepted, in bytes. Defaults to, and is capped at, Go's 8 MiB. */
  maxDataLength?: number
}

/** Options of {@link readV1Frame}. */
export interface ReadV1FrameOptions extends V1FrameLimitOptions, AbortOptions {}

/** Options of {@link decodeV1Frame}. */
export interface DecodeV1FrameOptions extends V1FrameLimitOptions {
  /** Accept bytes after the frame (they are ignored) instead of rejecting them. Defaults to false. */
  allowTrailingBytes?: boolean
}

const encoder = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const LONE_SURROGATE = /\p{Cs}/u

/** The effective data cap: the caller's value, never above Go's 8 MiB. */
export function resolveV1MaxDataLength(maxDataLength?: number): number {
  if (maxDataLength == null) return V1_MAX_DATA_LENGTH
  if (!Number.isSafeInteger(maxDataLength) || maxDataLength < 0) {
    throw new RangeError(`maxDataLength must be a non-negative integer, got ${String(maxDataLength)}`)
  }
  return Math.min(maxDataLength, V1_MAX_DATA_LENGTH)
}

function checkTypeLength(length: number): void {
  if (length < V1_MIN_TYPE_LENGTH || length > V1_MAX_TYPE_LENGTH) {
    throw new InvalidV1FrameError(
      `invalid type length: ${length} (must be ${V1_MIN_TYPE_LENGTH}..${V1_MAX_TYPE_LENGTH})`
    )
  }
}

function checkDataLength(length: number, max: number): void {
  if (length > max) throw new V1FrameTooLargeError(length, max)
}

function decodeType(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes)
  } catch (err) {
    throw new InvalidV1FrameError('frame type is not valid UTF-8', { cause: err })
  }
}

/**
 * Encodes one frame: `[uint16 BE type length][type UTF-8][uint32 BE data length][data]`.
 *
 * @throws InvalidV1FrameError when the type is empty, longer than 128 UTF-8 bytes or not well-formed Unicode
 * @throws V1FrameTooLargeError when `data` is longer than the data cap
 */
export function encodeV1Frame(type: string, data: Uint8Array, options: V1FrameLimitOptions = {}): Uint8Array {
  if (LONE_SURROGATE.test(type)) throw new InvalidV1FrameError('frame type is not well-formed Unicode')
  const typeBytes = encoder.encode(type)
  checkTypeLength(typeBytes.length)
  checkDataLength(data.length, resolveV1MaxDataLength(options.maxDataLength))
  const frame = new Uint8Array(2 + typeBytes.length + 4 + data.length)
  const view = new DataView(frame.buffer)
  view.setUint16(0, typeBytes.length)
  frame.set(typeBytes, 2)
  view.setUint32(2 + typeBytes.length, data.length)
  frame.set(data, 6 + typeBytes.length)
  return frame
}

/**
 * Decodes exactly one frame from a buffer. The header is checked before the body is looked at, so an oversized
 * declared length fails with {@link V1FrameTooLargeError} even when the body is absent.
 *
 * @throws InvalidV1FrameError for a bad type length, a non-UTF-8 type, truncated input or (by default) trailing bytes
 * @throws V1FrameTooLargeError when the declared data length exceeds the cap
 */
export function decodeV1Frame(bytes: Uint8Array | Uint8ArrayList, options: DecodeV1FrameOptions = {}): V1Frame {
  const max = resolveV1MaxDataLength(options.maxDataLength)
  const list = bytes instanceof Uint8ArrayList ? bytes : new Uint8ArrayList(bytes)
  const total = list.byteLength
  const need = (n: number, what: string): void => {
    if (total < n) throw new InvalidV1FrameError(`truncated frame: ${what} needs ${n} bytes, got ${total}`)
  }
  need(2, 'type length')
  const typeLength = list.getUint16(0)
  checkTypeLength(typeLength)
  need(2 + typeLength, 'type')
  const type = decodeType(list.subarray(2, 2 + typeLength))
  need(6 + typeLength, 'data length')
  const dataLength = list.getUint32(2 + typeLength)
  checkDataLength(dataLength, max)
  const end = 6 + typeLength + dataLength
  need(end, 'data')
  if (end < total && options.allowTrailingBytes !== true) {
    throw new InvalidV1FrameError(`${total - end} trailing bytes after the frame`)
  }
  return { type, data: plain(list.subarray(6 + typeLength, end)) }
}

/** A plain `Uint8Array` view of the same memory (chunks from Node sockets are `Buffer`s). */
function plain(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function isUnexpectedEof(err: unknown): boolean {
  return err instanceof Error && err.name === 'UnexpectedEOFError'
}

/**
 * Reads exactly one frame from a libp2p stream. Lengths are checked as soon as their header field arrives, so an
 * oversized declared data length is rejected before any of the body is waited for. Bytes that arrived after the
 * frame are handed back to the stream (`unshift`) so a later reader sees them, as long as the stream's readable end is
 * still open; if the remote already closed it, the surplus is dropped (the Go protocol never sends any).
 *
 * @throws InvalidV1FrameError for a bad type length, a non-UTF-8 type or a stream that ends mid-frame
 * @throws V1FrameTooLargeError when the declared data length exceeds the cap
 * @throws the signal's reason when `options.signal` aborts first
 */
export async function readV1Frame(stream: Stream, options: ReadV1FrameOptions = {}): Promise<V1Frame> {
  const max = resolveV1MaxDataLength(options.maxDataLength)
  options.signal?.throwIfAborted()
  // byteStream buffers whatever arrives; leave room for a whole frame plus its header so it never overflows.
  const bytes = byteStream(stream, { maxBufferSize: Math.max(4_194_304, 2 + V1_MAX_TYPE_LENGTH + 4 + max) })
  const read = async (count: number): Promise<Uint8ArrayList> => {
    const signal = options.signal
    return bytes.read(signal == null ? { bytes: count } : { bytes: count, signal })
  }
  try {
    const typeLength = (await read(2)).getUint16(0)
    checkTypeLength(typeLength)
    const type = decodeType((await read(typeLength)).subarray())
    const dataLength = (await read(4)).getUint32(0)
    checkDataLength(dataLength, max)
    const data = dataLength === 0 ? new Uint8Array(0) : plain((await read(dataLength)).subarray())
    return { type, data }
  } catch (err) {
    if (isUnexpectedEof(err)) throw new InvalidV1FrameError('truncated frame: stream ended mid-frame', { cause: err })
    throw err
  } finally {
    releaseUnread(bytes)
  }
}

/**
 * Detaches the byte reader and hands any bytes it buffered past the frame back to the stream. That is only possible
 * while the stream's readable end is open: once the remote has closed its writable end and everything it sent has
 * been delivered, libp2p refuses `unshift` (`StreamStateError`) and the surplus is dropped — nothing could read it.
 */
function releaseUnread(bytes: { unwrap(): unknown }): void {
  try {
    bytes.unwrap()
  } catch (err) {
    if (!(err instanceof Error && err.name === 'StreamStateError')) throw err
  }
}

/**
 * Encodes one frame and sends it on a libp2p stream, waiting for the stream to drain when it applies back-pressure.
 * The stream is left open; Go peers expect the writer to close its side after the frame.
 */
export async function writeV1Frame(
  stream: Stream,
  type: string,
  data: Uint8Array,
  options: V1FrameLimitOptions & AbortOptions = {}
): Promise<void> {
  const frame = encodeV1Frame(type, data, options)
  if (!stream.send(frame)) await stream.onDrain(options.signal == null ? {} : { signal: options.signal })
}
