import type { PaymentPayload, PaymentRequirements } from '@x402/core/types'
import { describe, expect, it } from 'vitest'
import { approve, buildRequirements, matchAccepted, SpendingBudget, X402Error } from '../src/index.ts'
import { Message } from '../src/pb/x402.ts'
import { decodeWireMessage, encodeWireMessage } from '../src/wire.ts'

const asset = {
  network: 'eip155:31337' as const,
  address: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as const,
  name: 'USD Coin',
  version: '2'
}
const payTo = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as const
const requirements = buildRequirements({ amount: 10_000n }, asset, payTo)
const policy = { maxAmount: 10_000n, payTo, asset, maxTimeoutSeconds: 300 }
const limits = { maxBodySize: 1024 }

describe('wire decoding bounds', () => {
  const request = (body: Uint8Array, correlationId = 'c-1') =>
    encodeWireMessage({ type: 'REQUEST', correlationId, request: { resource: 'r', body, contentType: '' } })

  it('accepts a body at the limit and rejects one byte over', () => {
    expect(decodeWireMessage(request(new Uint8Array(1024)), limits).type).toBe('REQUEST')
    expect(() => decodeWireMessage(request(new Uint8Array(1025)), limits)).toThrow(/over the 1024-byte limit/)
  })

  it('enforces the correlation id syntax and length (64 ok, 65 not)', () => {
    expect(decodeWireMessage(request(new Uint8Array(), 'a'.repeat(64)), limits).correlationId).toHaveLength(64)
    expect(() => decodeWireMessage(request(new Uint8Array(), 'a'.repeat(65)), limits)).toThrow(/correlation id/)
    expect(() => decodeWireMessage(request(new Uint8Array(), 'bad id!'), limits)).toThrow(/correlation id/)
  })

  it('rejects a frame whose payload does not match its type, an unknown type, and garbage', () => {
    const mismatched = Message.encode({
      type: Message.Type.RESPONSE,
      correlationId: 'c',
      request: { resource: 'r', body: new Uint8Array(), contentType: '', payment: new Uint8Array() }
    })
    expect(() => decodeWireMessage(mismatched, limits)).toThrow(/without its payload|exactly one payload/)
    const unknownType = new Uint8Array([0x08, 0x09, 0x12, 0x01, 0x63]) // type = 9, correlation_id = "c"
    expect(() => decodeWireMessage(unknownType, limits)).toThrow(/undecodable/)
    expect(() => decodeWireMessage(new Uint8Array([0xff, 0xff, 0xff]), limits)).toThrow(/undecodable/)
  })

  it('requires a 32-byte challenge and forbids a payment on a plain REQUEST', () => {
    const pr = (challenge: Uint8Array) =>
      encodeWireMessage({
        type: 'PAYMENT_REQUIRED',
        correlationId: 'c',
        paymentRequired: { paymentRequired: new Uint8Array([123, 125]), challenge, expiresAt: 1n }
      })
    expect(decodeWireMessage(pr(new Uint8Array(32)), limits).type).toBe('PAYMENT_REQUIRED')
    expect(() => decodeWireMessage(pr(new Uint8Array(31)), limits)).toThrow(/32 bytes/)
    const sneaky = Message.encode({
      type: Message.Type.REQUEST,
      correlationId: 'c',
      request: { resource: 'r', body: new Uint8Array(), contentType: '', payment: new Uint8Array([1]) }
    })
    expect(() => decodeWireMessage(sneaky, limits)).toThrow(/must not carry a payment/)
  })
})

describe('matching accepted requirements (spec §5 step 6)', () => {
  const payload = (accepted: PaymentRequirements) => ({ x402Version: 2, accepted, payload: {} }) as PaymentPayload
  const code = (accepted: PaymentRequirements) => {
    try {
      matchAccepted(payload(accepted), [requirements])
      return 'MATCH'
    } catch (err) {
      return (err as X402Error).codeName
    }
  }

  it('matches the exact offer and names the first differing field otherwise', () => {
    expect(code(requirements)).toBe('MATCH')
    expect(code({ ...requirements, network: 'eip155:1' })).toBe('NETWORK_WRONG')
    expect(code({ ...requirements, asset: requirements.asset.toLowerCase() })).toBe('ASSET_WRONG') // case-sensitive
    expect(code({ ...requirements, payTo: asset.address })).toBe('PAYEE_WRONG')
    expect(code({ ...requirements, amount: '1' })).toBe('AMOUNT_WRONG')
    expect(code({ ...requirements, maxTimeoutSeconds: 3600 })).toBe('PAYMENT_INVALID')
    expect(code({ ...requirements, extra: { name: 'USDC', version: '2' } })).toBe('PAYMENT_INVALID')
  })

  it('lets the buyer add extra keys but not drop or change offered ones', () => {
    expect(code({ ...requirements, extra: { ...requirements.extra, note: 'x' } })).toBe('MATCH')
    expect(code({ ...requirements, extra: { name: 'USD Coin' } })).toBe('PAYMENT_INVALID')
  })
})

describe('buyer approval before signing (spec §6)', () => {
  const violations = (offer: PaymentRequirements, p = policy) => {
    try {
      approve([offer], p)
      return []
    } catch (err) {
      return (err as { violations: string[] }).violations
    }
  }

  it('approves the exact terms, comparing addresses case-insensitively', () => {
    expect(violations(requirements)).toEqual([])
    expect(violations({ ...requirements, payTo: payTo.toLowerCase() })).toEqual([])
  })

  it('refuses each kind of overreach with its own reason', () => {
    expect(violations({ ...requirements, amount: '10001' })).toEqual(['amount 10001 exceeds the approved 10000'])
    expect(violations({ ...requirements, payTo: asset.address })[0]).toMatch(/not the expected payee/)
    expect(violations({ ...requirements, network: 'eip155:8453' })[0]).toMatch(/network eip155:8453/)
    expect(violations({ ...requirements, asset: payTo })[0]).toMatch(/asset/)
    expect(violations({ ...requirements, extra: { name: 'USDC', version: '2' } })[0]).toMatch(/token domain/)
    expect(violations({ ...requirements, maxTimeoutSeconds: 301 })[0]).toMatch(/over the cap of 300/)
    expect(violations({ ...requirements, scheme: 'upto' })[0]).toMatch(/not exact/)
    expect(violations({ ...requirements, amount: '0' })[0]).toMatch(/amount 0/)
  })

  it('picks the first acceptable option among several', () => {
    const expensive = { ...requirements, amount: '99999' }
    expect(approve([expensive, requirements], policy)).toBe(requirements)
    expect(() => approve([], policy)).toThrow(/no payment option/)
  })
})

describe('spending budget', () => {
  it('reserves up to the limit, refuses beyond it, and releases on refusal', () => {
    const budget = new SpendingBudget({ limit: 100n })
    const release = budget.reserve(60n)
    budget.reserve(40n)
    expect(budget.remaining()).toBe(0n)
    expect(() => budget.reserve(1n)).toThrow(expect.objectContaining({ name: 'BudgetExceededError' }))
    release()
    expect(budget.remaining()).toBe(60n)
  })

  it('forgets spending outside its rolling window', () => {
    const budget = new SpendingBudget({ limit: 100n, windowMs: 1000 })
    budget.reserve(100n, 0)
    expect(budget.remaining(500)).toBe(0n)
    expect(budget.remaining(1001)).toBe(100n)
  })
})

describe('requirements', () => {
  it('builds x402 v2 exact requirements with checksummed addresses and the token domain', () => {
    expect(requirements).toEqual({
      scheme: 'exact',
      network: 'eip155:31337',
      amount: '10000',
      asset: asset.address,
      payTo,
      maxTimeoutSeconds: 60,
      extra: { name: 'USD Coin', version: '2' }
    })
    expect(() => buildRequirements({ amount: 0n }, asset, payTo)).toThrow(RangeError)
    expect(X402Error.of('NONCE_USED', 'x')).toMatchObject({ code: 2004, retryable: false, name: 'X402Error' })
  })
})
