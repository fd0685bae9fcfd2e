import { settledHeap } from '@betar/fuzz'
import type { PaymentPayload } from '@x402/core/types'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Channel } from '../src/channel.ts'
import { matchAccepted, type Settler, X402_PROTOCOL, X402Error } from '../src/index.ts'
import { parseExactPayment, parsePaymentRequiredBytes } from '../src/payment.ts'
import { V1_MESSAGE_TYPES } from '../src/v1/constants.ts'
import { decodeV1Message, InvalidV1MessageError } from '../src/v1/messages.ts'
import { createNode, type X402Node } from './fixtures/nodes.ts'
import { asset, offered, paymentRequiredSeed, paymentSeed } from './fuzz/seeds.ts'

const utf8 = new TextEncoder()
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

/** `value` (JSON text) wrapped in `depth` arrays. */
const nest = (value: string, depth: number) => `${'['.repeat(depth)}${value}${']'.repeat(depth)}`

/** The issue's fault 3 input: a payment whose `accepted.extra.name` nests 3,000 deep (6.7 KB, under the 16 KiB cap). */
async function deepPayment(): Promise<Uint8Array> {
  return utf8.encode(text(await paymentSeed()).replace('"name":"USD Coin"', `"name":${nest('"USD Coin"', 3_000)}`))
}

/** The issue's fault 2 input: an `x402.payment_required` whose `payment_requirements.extra` nests 1,500 deep. */
const deepRequired = utf8.encode(
  JSON.stringify({
    version: '1.0',
    correlation_id: 'c-1',
    challenge_nonce: 'ab'.repeat(32),
    challenge_expires_at: 1_800_000_000,
    payment_requirements: { ...offered, extra: { name: 'USD Coin', version: '2', deep: 'DEEP' } },
    message: 'Payment required'
  }).replace('"DEEP"', `${'{"a":'.repeat(1_500)}1${'}'.repeat(1_500)}`)
)

describe('v1: a payment_required nested 1,500 deep (issue 13, fault 2)', () => {
  it('is InvalidV1MessageError, not a RangeError', () => {
    const err = (() => {
      try {
        decodeV1Message(V1_MESSAGE_TYPES.paymentRequired, deepRequired)
      } catch (e) {
        return e
      }
      return undefined
    })()
    expect(err).toBeInstanceOf(InvalidV1MessageError)
    expect((err as InvalidV1MessageError).issues[0]?.code).toBe('too_deep')
  })

  it('keeps the heap flat over 5,000 decodes (it kept ~170 KB each)', () => {
    const decode = () => expect(() => decodeV1Message(V1_MESSAGE_TYPES.paymentRequired, deepRequired)).toThrow()
    for (let i = 0; i < 200; i++) decode()
    const before = settledHeap()
    for (let i = 0; i < 5_000; i++) decode()
    expect(settledHeap() - before).toBeLessThan(2 * 1024 * 1024)
  })

  it('still decodes extra at the bound (64 levels) and refuses 65', () => {
    // message → payment_requirements → extra → `depth - 3` arrays
    const at = (depth: number) =>
      utf8.encode(text(deepRequired).replace(/"deep":.*\}\},"message"/, `"deep":${nest('1', depth - 3)}}},"message"`))
    expect(decodeV1Message(V1_MESSAGE_TYPES.paymentRequired, at(64)).payment_requirements?.extra).toBeDefined()
    expect(() => decodeV1Message(V1_MESSAGE_TYPES.paymentRequired, at(65))).toThrow(/64 levels/)
  })
})

describe('v2: a payment whose accepted.extra.name nests 3,000 deep (issue 13, fault 3)', () => {
  it('parseExactPayment refuses it with PAYMENT_INVALID', async () => {
    const bytes = await deepPayment()
    expect(bytes.byteLength).toBeGreaterThan(6_000)
    expect(bytes.byteLength).toBeLessThan(16 * 1024)
    expect(() => parseExactPayment(bytes)).toThrow(
      expect.objectContaining({ name: 'X402Error', codeName: 'PAYMENT_INVALID' })
    )
  })

  it('matchAccepted refuses a deep value handed to it directly, before canonical JSON', async () => {
    const payload = JSON.parse(text(await paymentSeed())) as PaymentPayload
    let deep: unknown = 'USD Coin'
    for (let i = 0; i < 5_000; i++) deep = [deep]
    payload.accepted = { ...payload.accepted, extra: { name: deep, version: '2' } }
    expect(() => matchAccepted(payload, [offered])).toThrow(
      expect.objectContaining({ name: 'X402Error', codeName: 'PAYMENT_INVALID' })
    )
  })

  it('a buyer refuses a PaymentRequired nested past the bound as a protocol violation', () => {
    const deep = utf8.encode(text(paymentRequiredSeed).replace('"USD Coin"', nest('"USD Coin"', 3_000)))
    expect(() => parsePaymentRequiredBytes(deep)).toThrow(expect.objectContaining({ name: 'ProtocolViolationError' }))
  })

  describe('over the wire', () => {
    let seller: X402Node
    let buyer: X402Node
    const unused = () => Promise.reject(new Error('never reached: the payment is refused first'))
    const settler: Settler = { name: 'unused', payTo: offered.payTo as `0x${string}`, verify: unused, settle: unused }

    beforeAll(async () => {
      seller = await createNode({ server: { settler, asset, payTo: offered.payTo as `0x${string}` } })
      buyer = await createNode()
      seller.services.x402Server.register('job', {
        price: { amount: 10_000n },
        settlement: 'after',
        handler: () => utf8.encode('ok')
      })
    })
    afterAll(async () => {
      await Promise.all([buyer?.stop(), seller?.stop()])
    })

    it('the seller answers PAYMENT_INVALID instead of resetting the stream', async () => {
      const stream = await buyer.dialProtocol(seller.getMultiaddrs(), X402_PROTOCOL)
      const channel = new Channel(stream, { maxBodySize: 1 << 20, frameTimeoutMs: 5_000 })
      await channel.write({
        type: 'PAID_REQUEST',
        correlationId: 'deep-1',
        request: { resource: 'job', body: utf8.encode('x'), contentType: '', payment: await deepPayment() }
      })
      const reply = await channel.read()
      stream.abort(new Error('done'))
      expect(reply.type).toBe('ERROR')
      if (reply.type !== 'ERROR') return
      expect(reply.error).toMatchObject({ code: X402Error.of('PAYMENT_INVALID', '').code, name: 'PAYMENT_INVALID' })
      expect(reply.error.message).toMatch(/64 levels/)
    })
  })
})
