import { encodeVarint } from '@betar/fuzz'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Message } from '../src/pb/x402.ts'
import { decodeWireMessage, encodeWireMessage } from '../src/wire.ts'

const limits = { maxBodySize: 1024 }

function frame(expiresAt: bigint): Uint8Array {
  return encodeWireMessage({
    type: 'PAYMENT_REQUIRED',
    correlationId: 'c',
    paymentRequired: { paymentRequired: new Uint8Array([0x7b, 0x7d]), challenge: new Uint8Array(32), expiresAt }
  })
}

/** The `expires_at` field as the frame ends with it: tag 0x18 (field 3, varint) and the value's varint. */
function tail(bytes: Uint8Array, n: number): string {
  return Buffer.from(bytes.subarray(bytes.byteLength - n)).toString('hex')
}

describe('PaymentRequired.expires_at (uint64) over its whole range (issue 13, fault 5)', () => {
  it.each([
    ['2^31 − 1', 2n ** 31n - 1n, '18ffffffff07'],
    ['2^31 (2038-01-19T03:14:08Z)', 2n ** 31n, '188080808008'],
    ['2038-06-01T00:00:00Z', BigInt(Date.UTC(2038, 5, 1) / 1000), '1880d4bc8508'],
    ['2^32 − 1', 2n ** 32n - 1n, '18ffffffff0f'],
    ['2^32', 2n ** 32n, '188080808010'],
    ['2^53', 2n ** 53n, '188080808080808010'],
    ['2^64 − 1', 2n ** 64n - 1n, '18ffffffffffffffffff01']
  ])('%s is the standard varint and reads back', (_, value, hex) => {
    const bytes = frame(value)
    expect(tail(bytes, hex.length / 2)).toBe(hex)
    const m = decodeWireMessage(bytes, limits)
    expect(m.type === 'PAYMENT_REQUIRED' && m.paymentRequired.expiresAt).toBe(value)
  })

  it('every uint64 is written as its LEB128 varint (the wire format of values below 2^31 is unchanged)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }), (value) => {
        const varint = encodeVarint(value)
        const bytes = frame(value)
        expect(tail(bytes, varint.byteLength + 1)).toBe(`18${Buffer.from(varint).toString('hex')}`)
        expect(Message.decode(bytes).paymentRequired?.expiresAt).toBe(value)
      }),
      { seed: 5, numRuns: 2_000 }
    )
  })

  it('refuses to write a value outside uint64', () => {
    expect(() => frame(-1n)).toThrow(RangeError)
    expect(() => frame(2n ** 64n)).toThrow(RangeError)
  })
})
