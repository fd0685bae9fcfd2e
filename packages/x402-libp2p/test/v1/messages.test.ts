import { describe, expect, it } from 'vitest'
import {
  isV1MessageType,
  V1_ERROR_INFO,
  V1_MAX_DATA_LENGTH,
  V1_MESSAGE_TYPES,
  V1ErrorCode,
  v1ErrorInfo,
  X402_V1_PREEMPTIVE_NONCE,
  X402_V1_PROTOCOL,
  X402_V1_VERSION
} from '../../src/v1/constants.ts'
import { createV1Error, decodeV1Message, encodeV1Message, InvalidV1MessageError } from '../../src/v1/messages.ts'
import { typedMessage, vector } from './vectors.ts'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

function decodeError(type: string, json: string): InvalidV1MessageError {
  try {
    decodeV1Message(type, enc(json))
  } catch (err) {
    if (err instanceof InvalidV1MessageError) return err
    throw err
  }
  throw new Error('expected InvalidV1MessageError')
}

const goodError = {
  version: '1.0',
  correlation_id: 'c',
  error_code: 2007,
  error_name: 'SETTLEMENT_FAILED',
  message: 'm',
  retryable: true
}

describe('constants', () => {
  it('match the Go source', () => {
    expect(X402_V1_PROTOCOL).toBe('/x402/libp2p/1.0.0')
    expect(X402_V1_VERSION).toBe('1.0')
    expect(X402_V1_PREEMPTIVE_NONCE).toBe('preemptive')
    expect(V1_MAX_DATA_LENGTH).toBe(8_388_608)
    expect(Object.values(V1_MESSAGE_TYPES)).toEqual([
      'x402.request',
      'x402.payment_required',
      'x402.paid_request',
      'x402.response',
      'x402.error'
    ])
    expect(isV1MessageType('x402.request')).toBe(true)
    expect(isV1MessageType('x402.bogus')).toBe(false)
  })

  it('error table follows NewX402Error (only 2000, 2003, 2007 retryable; unknown codes → UNKNOWN_ERROR)', () => {
    const retryable = Object.entries(V1_ERROR_INFO)
      .filter(([, info]) => info.retryable)
      .map(([code]) => Number(code))
    expect(retryable).toEqual([2000, 2003, 2007])
    for (const [name, code] of Object.entries(V1ErrorCode)) {
      expect(v1ErrorInfo(code).name).toBe(name)
    }
    expect(v1ErrorInfo(9999)).toEqual({ name: 'UNKNOWN_ERROR', retryable: false })
    expect(v1ErrorInfo(2006)).toEqual({ name: 'UNKNOWN_ERROR', retryable: false })
  })

  it('createV1Error reproduces the Go error vector', () => {
    const v = vector('error_retryable', 'x402.error')
    const msg = typedMessage(v)
    const built = createV1Error(msg.correlation_id, V1ErrorCode.SETTLEMENT_FAILED, msg.message)
    expect(built).toEqual(msg)
    expect(Buffer.from(encodeV1Message('x402.error', built)).toString('hex')).toBe(v.hex.slice(2 * (2 + 10 + 4)))
  })
})

describe('decodeV1Message rejects bad input with InvalidV1MessageError', () => {
  it('unknown type', () => {
    expect(decodeError('x402.bogus', '{}').message).toMatch(/unknown message type/)
  })

  it('non-JSON, trailing garbage, a BOM, empty data', () => {
    for (const bad of ['not json', '{"version":"1.0"} x', '\ufeff{}', '']) {
      const err = decodeError('x402.error', bad)
      expect(err.name).toBe('InvalidV1MessageError')
      expect(err.issues[0]?.code).toBe('invalid_json')
    }
  })

  it('a top-level value that is not an object', () => {
    for (const bad of ['null', '[]', '"x"', '1'])
      expect(decodeError('x402.error', bad)).toBeInstanceOf(InvalidV1MessageError)
  })

  it('wrong-typed fields, reported with their paths', () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['x402.error', { ...goodError, error_code: '2007' }, 'error_code'],
      ['x402.error', { ...goodError, error_code: 1.5 }, 'error_code'],
      ['x402.error', { ...goodError, retryable: 'true' }, 'retryable'],
      ['x402.error', { ...goodError, message: null }, 'message'],
      ['x402.error', { ...goodError, version: 1 }, 'version']
    ]
    for (const [type, doc, field] of cases) {
      const err = decodeError(type, JSON.stringify(doc))
      expect(err.issues.map((i) => i.path.join('.'))).toContain(field)
    }
  })

  it('missing fields that Go always emits', () => {
    const { retryable: _, ...rest } = goodError
    expect(decodeError('x402.error', JSON.stringify(rest)).issues[0]?.path).toEqual(['retryable'])
    const req = JSON.parse(
      new TextDecoder().decode(encodeV1Message('x402.request', typedMessage(vector('request_free', 'x402.request'))))
    )
    delete req.payment
    expect(decodeError('x402.request', JSON.stringify(req)).issues[0]?.path).toEqual(['payment'])
  })

  it('bad base64 bodies (Go StdEncoding: padded, standard alphabet)', () => {
    const base = JSON.parse(
      new TextDecoder().decode(encodeV1Message('x402.response', typedMessage(vector('response_free', 'x402.response'))))
    )
    for (const body of ['eyJvdXRwdXQiOiJwb25nIn0', 'eyJvdXRwdXQiOiJwb25nIn0-', 'e_Jv', 'ab=c', 1, {}]) {
      const err = decodeError('x402.response', JSON.stringify({ ...base, body }))
      expect(err.issues[0]?.path).toEqual(['body'])
    }
  })

  it('nested x402 objects: camelCase keys are required, snake_case ones do not count', () => {
    const pr = JSON.parse(
      new TextDecoder().decode(
        encodeV1Message('x402.payment_required', typedMessage(vector('payment_required', 'x402.payment_required')))
      )
    )
    const { payTo, ...rest } = pr.payment_requirements
    const bad = { ...pr, payment_requirements: { ...rest, pay_to: payTo } }
    expect(decodeError('x402.payment_required', JSON.stringify(bad)).issues[0]?.path).toEqual([
      'payment_requirements',
      'payTo'
    ])
  })

  it('a paid_request payment cannot be null (Go struct value)', () => {
    const doc = { version: '1.0', correlation_id: 'c', payment: null, body: null }
    expect(decodeError('x402.paid_request', JSON.stringify(doc)).issues[0]?.path).toEqual(['payment'])
  })
})

describe('decodeV1Message tolerance (like Go)', () => {
  it('ignores unknown keys and accepts Go base64 quirks (CR/LF skipped, non-zero trailing bits)', () => {
    const doc = {
      version: '1.0',
      correlation_id: 'c',
      payment_id: '',
      tx_hash: '',
      body: 'aG\r\nk=',
      surprise: { nested: true }
    }
    const msg = decodeV1Message('x402.response', enc(JSON.stringify(doc)))
    expect(msg).toStrictEqual({ version: '1.0', correlation_id: 'c', payment_id: '', tx_hash: '', body: enc('hi') })
  })

  it('treats null payload/extra as absent and keeps "" optional strings', () => {
    const pr = {
      version: '1.0',
      correlation_id: 'c',
      challenge_nonce: 'n',
      challenge_expires_at: 1,
      payment_requirements: {
        scheme: 's',
        network: 'n',
        amount: '1',
        asset: 'a',
        payTo: 'p',
        maxTimeoutSeconds: 60,
        extra: null
      },
      message: 'm',
      seller_did: ''
    }
    const msg = decodeV1Message('x402.payment_required', enc(JSON.stringify(pr)))
    expect(msg.payment_requirements).toStrictEqual({
      scheme: 's',
      network: 'n',
      amount: '1',
      asset: 'a',
      payTo: 'p',
      maxTimeoutSeconds: 60
    })
    expect(msg.seller_did).toBe('')
    const env = {
      x402_version: 2,
      scheme: 'exact',
      network: 'n',
      server_nonce: 'preemptive',
      payer: 'p',
      payload: null
    }
    const paid = decodeV1Message(
      'x402.paid_request',
      enc(JSON.stringify({ version: '1.0', correlation_id: 'c', payment: env, body: '' }))
    )
    expect(paid.payment).toStrictEqual({
      x402_version: 2,
      scheme: 'exact',
      network: 'n',
      server_nonce: 'preemptive',
      payer: 'p'
    })
    expect(paid.body).toStrictEqual(new Uint8Array(0))
  })
})
