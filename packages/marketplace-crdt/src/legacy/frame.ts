/**
 * `/betar/marketplace/1.0.0` framing, as Go's `internal/p2p/stream.go` lays it out — one request per stream:
 *
 * ```
 * request  (client → server): [type_len: uint16 BE][type: UTF-8, 1..128 bytes][data_len: uint32 BE][data]
 * response (server → client): [data_len: uint32 BE][data]
 * ```
 *
 * The response has no type: Go writes a handler error as plain text in the data. Lengths are checked as soon as their
 * header arrives, before any buffer for the data is waited for or allocated.
 */
import type { AbortOptions, Stream } from '@libp2p/interface'
import { byteStream } from '@libp2p/utils'
import { GO_MAX_DATA_LENGTH, GO_MAX_TYPE_LENGTH } from './constants.ts'
import { LegacyFrameError } from './errors.ts'

const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** A decoded request. */
export interface LegacyRequest {
  type: string
  data: Uint8Array
}

/** The bytes of a request frame. @throws LegacyFrameError for a type of 0 or more than 128 bytes, or data over 8 MiB */
export function encodeRequest(type: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const typeBytes = utf8.encode(type)
  if (typeBytes.length < 1 || typeBytes.length > GO_MAX_TYPE_LENGTH) {
    throw new LegacyFrameError(`type length ${typeBytes.length} is not 1..${GO_MAX_TYPE_LENGTH}`)
  }
  if (data.length > GO_MAX_DATA_LENGTH) throw new LegacyFrameError(`data length ${data.length} is over 8 MiB`)
  const frame = new Uint8Array(2 + typeBytes.length + 4 + data.length)
  const view = new DataView(frame.buffer)
  view.setUint16(0, typeBytes.length)
  frame.set(typeBytes, 2)
  view.setUint32(2 + typeBytes.length, data.length)
  frame.set(data, 6 + typeBytes.length)
  return frame
}

/** The bytes of a response frame. */
export function encodeResponse(data: Uint8Array): Uint8Array {
  if (data.length > GO_MAX_DATA_LENGTH) throw new LegacyFrameError(`data length ${data.length} is over 8 MiB`)
  const frame = new Uint8Array(4 + data.length)
  new DataView(frame.buffer).setUint32(0, data.length)
  frame.set(data, 4)
  return frame
}

function plain(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

async function withReader<T>(
  stream: Stream,
  maxData: number,
  body: (read: (n: number) => Promise<Uint8Array>) => Promise<T>,
  options: AbortOptions
): Promise<T> {
  const bytes = byteStream(stream, { maxBufferSize: 2 + GO_MAX_TYPE_LENGTH + 4 + maxData + 64 * 1024 })
  const read = async (n: number): Promise<Uint8Array> => {
    const chunk = await bytes.read(options.signal == null ? { bytes: n } : { bytes: n, signal: options.signal })
    return plain(chunk.subarray())
  }
  try {
    return await body(read)
  } catch (err) {
    if (err instanceof Error && err.name === 'UnexpectedEOFError') {
      throw new LegacyFrameError('stream ended mid-frame', { cause: err })
    }
    throw err
  } finally {
    try {
      bytes.unwrap()
    } catch {
      // the remote closed its end: nothing more could be read anyway
    }
  }
}

/** Reads one request frame; data over `maxData` bytes is refused from its header. @throws LegacyFrameError */
export function readRequest(stream: Stream, maxData: number, options: AbortOptions = {}): Promise<LegacyRequest> {
  return withReader(
    stream,
    maxData,
    async (read) => {
      const typeLength = new DataView((await read(2)).slice().buffer).getUint16(0)
      if (typeLength < 1 || typeLength > GO_MAX_TYPE_LENGTH) {
        throw new LegacyFrameError(`type length ${typeLength} is not 1..${GO_MAX_TYPE_LENGTH}`)
      }
      let type: string
      try {
        type = strictUtf8.decode(await read(typeLength))
      } catch (cause) {
        if (cause instanceof LegacyFrameError) throw cause
        if (cause instanceof TypeError) throw new LegacyFrameError('type is not UTF-8', { cause })
        throw cause
      }
      const dataLength = new DataView((await read(4)).slice().buffer).getUint32(0)
      if (dataLength > maxData) throw new LegacyFrameError(`request data of ${dataLength} bytes, over ${maxData}`)
      return { type, data: dataLength === 0 ? new Uint8Array(0) : await read(dataLength) }
    },
    options
  )
}

/** Reads one response frame; data over `maxData` bytes is refused from its header. @throws LegacyFrameError */
export function readResponse(stream: Stream, maxData: number, options: AbortOptions = {}): Promise<Uint8Array> {
  return withReader(
    stream,
    maxData,
    async (read) => {
      const dataLength = new DataView((await read(4)).slice().buffer).getUint32(0)
      if (dataLength > maxData) throw new LegacyFrameError(`response data of ${dataLength} bytes, over ${maxData}`)
      return dataLength === 0 ? new Uint8Array(0) : await read(dataLength)
    },
    options
  )
}
