import { describe, expect, it } from 'vitest'
import { decodeInput, InputValidationError, MAX_INPUT_DEPTH, validateRequestBody } from '../src/index.ts'

const nested = (depth: number) => new TextEncoder().encode(`{"text":${'['.repeat(depth)}${']'.repeat(depth)}}`)

describe('request bodies nested past the bound (issue 13)', () => {
  it('are refused before payment with InputValidationError (adapters encode the input again, which recursed)', () => {
    expect(() => validateRequestBody(nested(5_000), { type: 'object' })).toThrow(InputValidationError)
    expect(() => validateRequestBody(nested(MAX_INPUT_DEPTH), { type: 'object' })).toThrow(/64 levels/)
    expect(decodeInput(nested(MAX_INPUT_DEPTH - 1), { type: 'object' })).toBeTypeOf('object')
  })

  it('stay text where text is an input', () => {
    const body = nested(5_000)
    expect(decodeInput(body, { type: 'string' })).toBe(new TextDecoder().decode(body))
    expect(decodeInput(body)).toBe(new TextDecoder().decode(body))
  })
})
