import { describe, expect, it } from 'vitest'
import { ErrorCode, X402Error } from '../../src/errors.ts'
import { V1_ERROR_INFO, V1_MESSAGE_TYPES } from '../../src/v1/constants.ts'
import { decodeV1Message, encodeV1Message, v1ErrorFor } from '../../src/v1/messages.ts'

/** Go's `NewX402Error` names and retryable flags, as the Go prototype's server sends them (../shared/notes/betar-go.md). */
const GO: Record<number, [string, boolean]> = {
  1000: ['INVALID_MESSAGE', false],
  1001: ['UNKNOWN_RESOURCE', false],
  2000: ['PAYMENT_REQUIRED', true],
  2001: ['PAYMENT_INVALID', false],
  2002: ['PAYMENT_NONCE_MISMATCH', false],
  2003: ['PAYMENT_NONCE_EXPIRED', true],
  2004: ['PAYMENT_NONCE_USED', false],
  2005: ['PAYMENT_AMOUNT_WRONG', false],
  2007: ['SETTLEMENT_FAILED', true],
  3000: ['EXECUTION_FAILED', false]
}

describe('1.0.0 errors carry Go’s names and retryable flags (issue 15)', () => {
  it('the table matches Go’s NewX402Error', () => {
    expect(Object.fromEntries(Object.entries(V1_ERROR_INFO).map(([c, i]) => [c, [i.name, i.retryable]]))).toEqual(GO)
  })

  it('every code this server can send, both ways: Go’s name and flag where Go has the code, ours elsewhere', () => {
    for (const [name, code] of Object.entries(ErrorCode)) {
      const err = X402Error.of(name as keyof typeof ErrorCode, `a ${name}`)
      const sent = v1ErrorFor('corr-1', err)
      const wire = encodeV1Message(V1_MESSAGE_TYPES.error, sent)
      const read = decodeV1Message(V1_MESSAGE_TYPES.error, wire)
      const go = GO[code]
      expect(read).toEqual({
        version: '1.0',
        correlation_id: 'corr-1',
        error_code: code,
        error_name: go?.[0] ?? name,
        message: `a ${name}`,
        retryable: go?.[1] ?? err.retryable
      })
      // The byte form: a JSON object with Go's field names.
      expect(JSON.parse(new TextDecoder().decode(wire))).toEqual({
        version: '1.0',
        correlation_id: 'corr-1',
        error_code: code,
        error_name: go?.[0] ?? name,
        message: `a ${name}`,
        retryable: go?.[1] ?? err.retryable
      })
    }
  })
})
