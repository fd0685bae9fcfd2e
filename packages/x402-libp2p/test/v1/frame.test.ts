import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { V1_MAX_DATA_LENGTH, V1_MAX_TYPE_LENGTH } from '../../src/v1/constants.ts'
import { decodeV1Frame, encodeV1Frame, InvalidV1FrameError, V1FrameTooLargeError } from '../../src/v1/frame.ts'

/** A frame header only: `[type_len][type][data_len]`, with an arbitrary declared data length. */
function header(type: Uint8Array, dataLength: number, typeLength = type.length): Uint8Array {
  const out = new Uint8Array(2 + type.length + 4)
  const view = new DataView(out.buffer)
  view.setUint16(0, typeLength)
  out.set(type, 2)
  view.setUint32(2 + type.length, dataLength)
  return out
}

/** The error `fn` throws (fails the test if it returns). */
function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  throw new Error('expected an error')
}

const ascii = (n: number): string => 'x'.repeat(n)
const bytesOf = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('encodeV1Frame', () => {
  it('lays out [uint16 BE type_len][type][uint32 BE data_len][data]', () => {
    const frame = encodeV1Frame('x402.error', bytesOf('{}'))
    expect(Buffer.from(frame).toString('hex')).toBe(`000a${Buffer.from('x402.error').toString('hex')}000000027b7d`)
  })

  it('accepts empty data', () => {
    expect(encodeV1Frame('t', new Uint8Array(0))).toEqual(new Uint8Array([0, 1, 0x74, 0, 0, 0, 0]))
  })

  it('type length 0 and 129 are rejected, 1 and 128 accepted', () => {
    expect(() => encodeV1Frame('', new Uint8Array(0))).toThrow(InvalidV1FrameError)
    expect(encodeV1Frame(ascii(1), new Uint8Array(0)).length).toBe(7)
    expect(encodeV1Frame(ascii(V1_MAX_TYPE_LENGTH), new Uint8Array(0)).length).toBe(134)
    expect(() => encodeV1Frame(ascii(V1_MAX_TYPE_LENGTH + 1), new Uint8Array(0))).toThrow(InvalidV1FrameError)
  })

  it('counts the type length in UTF-8 bytes', () => {
    expect(encodeV1Frame('é'.repeat(64), new Uint8Array(0)).length).toBe(134)
    expect(() => encodeV1Frame(`${'é'.repeat(64)}x`, new Uint8Array(0))).toThrow(InvalidV1FrameError)
  })

  it('rejects a type with a lone surrogate', () => {
    expect(() => encodeV1Frame('x402.\ud800', new Uint8Array(0))).toThrow(InvalidV1FrameError)
  })

  it('data at the cap is accepted, cap + 1 rejected (default 8 MiB and a lowered cap)', () => {
    expect(encodeV1Frame('t', new Uint8Array(V1_MAX_DATA_LENGTH)).length).toBe(7 + V1_MAX_DATA_LENGTH)
    expect(() => encodeV1Frame('t', new Uint8Array(V1_MAX_DATA_LENGTH + 1))).toThrow(V1FrameTooLargeError)
    expect(encodeV1Frame('t', new Uint8Array(10), { maxDataLength: 10 }).length).toBe(17)
    expect(() => encodeV1Frame('t', new Uint8Array(11), { maxDataLength: 10 })).toThrow(V1FrameTooLargeError)
  })

  it('never raises the cap above Go’s 8 MiB', () => {
    expect(() => encodeV1Frame('t', new Uint8Array(V1_MAX_DATA_LENGTH + 1), { maxDataLength: 2 ** 30 })).toThrow(
      V1FrameTooLargeError
    )
    expect(() => encodeV1Frame('t', new Uint8Array(0), { maxDataLength: -1 })).toThrow(RangeError)
  })
})

describe('decodeV1Frame', () => {
  it('round-trips, from a Uint8Array or a chunked Uint8ArrayList', () => {
    const frame = encodeV1Frame('x402.request', bytesOf('{"a":1}'))
    expect(decodeV1Frame(frame)).toEqual({ type: 'x402.request', data: bytesOf('{"a":1}') })
    const list = new Uint8ArrayList()
    for (const b of frame) list.append(Uint8Array.of(b))
    expect(decodeV1Frame(list)).toEqual({ type: 'x402.request', data: bytesOf('{"a":1}') })
  })

  it('type length 0 and 129 are rejected, 1 and 128 accepted', () => {
    expect(() => decodeV1Frame(header(new Uint8Array(0), 0))).toThrow(InvalidV1FrameError)
    expect(decodeV1Frame(header(bytesOf('a'), 0)).type).toBe('a')
    expect(decodeV1Frame(header(bytesOf(ascii(128)), 0)).type).toBe(ascii(128))
    expect(() => decodeV1Frame(header(bytesOf(ascii(129)), 0))).toThrow(/invalid type length: 129/)
  })

  it('rejects a type length above 128 from the first two bytes alone', () => {
    expect(() => decodeV1Frame(Uint8Array.of(0, 129))).toThrow(/invalid type length: 129/)
    expect(() => decodeV1Frame(Uint8Array.of(0xff, 0xff))).toThrow(InvalidV1FrameError)
  })

  it('rejects a type that is not UTF-8', () => {
    expect(() => decodeV1Frame(header(Uint8Array.of(0xc3, 0x28), 0))).toThrow(/not valid UTF-8/)
  })

  it('data length at the cap passes the header check; cap + 1 is rejected from the header alone', () => {
    // Header declaring exactly the cap, no body: the header is fine, the missing body makes it truncated.
    expect(() => decodeV1Frame(header(bytesOf('t'), V1_MAX_DATA_LENGTH))).toThrow(/truncated frame: data/)
    const err = thrown(() => decodeV1Frame(header(bytesOf('t'), V1_MAX_DATA_LENGTH + 1)))
    expect(err).toBeInstanceOf(V1FrameTooLargeError)
    expect(err).toMatchObject({ name: 'V1FrameTooLargeError', dataLength: V1_MAX_DATA_LENGTH + 1 })
    expect(() => decodeV1Frame(header(bytesOf('t'), 0xffffffff))).toThrow(V1FrameTooLargeError)
    expect(() => decodeV1Frame(header(bytesOf('t'), 11), { maxDataLength: 10 })).toThrow(V1FrameTooLargeError)
    expect(() => decodeV1Frame(header(bytesOf('t'), 10), { maxDataLength: 10 })).toThrow(/truncated/)
  })

  it('accepts a full frame at the cap', () => {
    const frame = encodeV1Frame('t', new Uint8Array(V1_MAX_DATA_LENGTH).fill(7))
    expect(decodeV1Frame(frame).data.length).toBe(V1_MAX_DATA_LENGTH)
  })

  it('rejects every truncation of a valid frame', () => {
    const frame = encodeV1Frame('x402.response', bytesOf('{"ok":true}'))
    for (let n = 0; n < frame.length; n++) {
      expect(() => decodeV1Frame(frame.subarray(0, n))).toThrow(InvalidV1FrameError)
    }
  })

  it('rejects trailing bytes unless allowed', () => {
    const frame = encodeV1Frame('t', bytesOf('x'))
    const longer = Uint8Array.of(...frame, 1, 2)
    expect(() => decodeV1Frame(longer)).toThrow(/2 trailing bytes/)
    expect(decodeV1Frame(longer, { allowTrailingBytes: true })).toEqual({ type: 't', data: bytesOf('x') })
  })

  it('errors carry their class names', () => {
    expect(InvalidV1FrameError.name).toBe('InvalidV1FrameError')
    expect(new InvalidV1FrameError('x').name).toBe('InvalidV1FrameError')
    expect(V1FrameTooLargeError.name).toBe('V1FrameTooLargeError')
    expect(new V1FrameTooLargeError(2, 1).name).toBe('V1FrameTooLargeError')
  })
})
