import type { Libp2p, Stream } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { V1_MAX_DATA_LENGTH } from '../../src/v1/constants.ts'
import {
  encodeV1Frame,
  InvalidV1FrameError,
  readV1Frame,
  V1FrameTooLargeError,
  writeV1Frame
} from '../../src/v1/frame.ts'
import { decodeV1Message, encodeV1Message } from '../../src/v1/messages.ts'
import { frameBytes, typedMessage, vector } from './vectors.ts'

async function node(): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}

let server: Libp2p
let client: Libp2p
let counter = 0

beforeAll(async () => {
  server = await node()
  client = await node()
})

afterAll(async () => {
  await client?.stop()
  await server?.stop()
})

async function send(stream: Stream, bytes: Uint8Array): Promise<void> {
  if (!stream.send(bytes)) await stream.onDrain()
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Registers `handler` on a fresh protocol and returns a client stream to it. */
async function open(handler: (stream: Stream) => Promise<void>): Promise<Stream> {
  const protocol = `/x402-v1-test/${++counter}`
  await server.handle(protocol, (stream) => {
    handler(stream).catch((err: unknown) => {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    })
  })
  const addr = server.getMultiaddrs()[0]
  if (addr == null) throw new Error('server has no address')
  return client.dialProtocol(addr, protocol)
}

/** A header `[type_len][type][data_len]` declaring `dataLength` bytes. */
function header(type: string, dataLength: number): Uint8Array {
  const frame = encodeV1Frame(type, new Uint8Array(0))
  new DataView(frame.buffer).setUint32(frame.length - 4, dataLength)
  return frame
}

describe('readV1Frame over a real libp2p TCP/noise/yamux stream', () => {
  it('does a Go-style request/response exchange with the vector bytes', async () => {
    const req = vector('request_free', 'x402.request')
    const res = vector('response_paid', 'x402.response')
    let received: unknown
    const stream = await open(async (s) => {
      const frame = await readV1Frame(s, { signal: AbortSignal.timeout(5_000) })
      received = decodeV1Message(frame.type, frame.data)
      await writeV1Frame(s, res.type, encodeV1Message(res.type, typedMessage(res)))
      await s.close()
    })
    await send(stream, frameBytes(req))
    await stream.close()
    const frame = await readV1Frame(stream, { signal: AbortSignal.timeout(5_000) })
    expect(received).toStrictEqual(typedMessage(req))
    expect(Buffer.from(encodeV1Frame(frame.type, frame.data)).toString('hex')).toBe(res.hex)
  })

  it('reassembles a frame sent in many one- to three-byte chunks', async () => {
    const v = vector('paid_request', 'x402.paid_request')
    const bytes = frameBytes(v)
    const stream = await open(async (s) => {
      for (let i = 0; i < bytes.length; ) {
        const n = 1 + (i % 3)
        await send(s, bytes.subarray(i, i + n))
        i += n
        if (i % 50 === 0) await sleep(1)
      }
      await s.close()
    })
    const frame = await readV1Frame(stream, { signal: AbortSignal.timeout(10_000) })
    expect(frame.type).toBe('x402.paid_request')
    expect(decodeV1Message('x402.paid_request', frame.data)).toStrictEqual(typedMessage(v))
  })

  it('rejects on the AbortSignal when the peer sends a header and stalls', async () => {
    const stream = await open(async (s) => {
      await send(s, header('x402.response', 100))
      await send(s, new Uint8Array(10))
      // then nothing: the stream stays open
    })
    const started = Date.now()
    await expect(readV1Frame(stream, { signal: AbortSignal.timeout(300) })).rejects.toMatchObject({
      name: 'TimeoutError'
    })
    expect(Date.now() - started).toBeLessThan(3_000)
    stream.abort(new Error('test done'))
  })

  it('rejects an oversized declared length from the header, without waiting for the body', async () => {
    const stream = await open(async (s) => {
      await send(s, header('x402.response', V1_MAX_DATA_LENGTH + 1))
    })
    await expect(readV1Frame(stream, { signal: AbortSignal.timeout(5_000) })).rejects.toBeInstanceOf(
      V1FrameTooLargeError
    )
    stream.abort(new Error('test done'))
  })

  it('honours a lowered cap: cap accepted, cap + 1 rejected from the header', async () => {
    const ok = await open(async (s) => {
      await writeV1Frame(s, 't', new Uint8Array(64).fill(1))
      await s.close()
    })
    expect((await readV1Frame(ok, { maxDataLength: 64 })).data.length).toBe(64)
    const big = await open(async (s) => {
      await send(s, header('t', 65))
    })
    await expect(readV1Frame(big, { maxDataLength: 64, signal: AbortSignal.timeout(5_000) })).rejects.toBeInstanceOf(
      V1FrameTooLargeError
    )
    big.abort(new Error('test done'))
  })

  it('rejects a zero type length', async () => {
    const stream = await open(async (s) => {
      await send(s, Uint8Array.of(0, 0, 0, 0, 0, 0))
      await s.close()
    })
    await expect(readV1Frame(stream)).rejects.toBeInstanceOf(InvalidV1FrameError)
  })

  it('reports a stream that ends mid-frame as a truncated frame', async () => {
    const bytes = frameBytes(vector('error_retryable', 'x402.error'))
    for (const cut of [0, 1, 5, 16, bytes.length - 1]) {
      const stream = await open(async (s) => {
        if (cut > 0) await send(s, bytes.subarray(0, cut))
        await s.close()
      })
      await expect(readV1Frame(stream, { signal: AbortSignal.timeout(5_000) })).rejects.toThrow(/truncated frame/)
    }
  })

  it('does not consume bytes past the frame (handed back while the stream is readable)', async () => {
    const a = encodeV1Frame('x402.request', new TextEncoder().encode('{"a":1}'))
    const b = encodeV1Frame('x402.response', new TextEncoder().encode('{"b":2}'))
    let release = (): void => {}
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    const stream = await open(async (s) => {
      await send(s, Uint8Array.of(...a, ...b, 0xde, 0xad))
      await released
      await s.close()
    })
    const first = await readV1Frame(stream, { signal: AbortSignal.timeout(5_000) })
    const second = await readV1Frame(stream, { signal: AbortSignal.timeout(5_000) })
    expect(first).toEqual({ type: 'x402.request', data: new TextEncoder().encode('{"a":1}') })
    expect(second).toEqual({ type: 'x402.response', data: new TextEncoder().encode('{"b":2}') })
    // the two surplus bytes are still on the stream, then the truncated third "frame" ends with the stream
    release()
    await expect(readV1Frame(stream, { signal: AbortSignal.timeout(5_000) })).rejects.toThrow(
      /invalid type length: 57005/
    )
  })

  it('still returns the frame when surplus bytes arrive after which the peer closes', async () => {
    const a = encodeV1Frame('x402.error', new TextEncoder().encode('{}'))
    const stream = await open(async (s) => {
      await send(s, Uint8Array.of(...a, 1, 2, 3))
      await s.close()
    })
    await sleep(50)
    expect(await readV1Frame(stream, { signal: AbortSignal.timeout(5_000) })).toEqual({
      type: 'x402.error',
      data: new TextEncoder().encode('{}')
    })
  })

  it('reads a frame of exactly 8 MiB (beyond byteStream’s 4 MiB default buffer)', async () => {
    const data = new Uint8Array(V1_MAX_DATA_LENGTH)
    for (let i = 0; i < data.length; i += 4096) data[i] = i % 251
    const stream = await open(async (s) => {
      await writeV1Frame(s, 'x402.response', data)
      await s.close()
    })
    const frame = await readV1Frame(stream, { signal: AbortSignal.timeout(20_000) })
    expect(frame.data.length).toBe(V1_MAX_DATA_LENGTH)
    expect(Buffer.compare(Buffer.from(frame.data), Buffer.from(data))).toBe(0)
  })
})
