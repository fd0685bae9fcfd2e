import { describe, expect, it } from 'vitest'
import { decodeInput, functionExecutor, InputValidationError, textStatsExecutor, toX402Handler } from '../src/index.ts'

const enc = (s: string) => new TextEncoder().encode(s)
const dec = (b: Uint8Array) => new TextDecoder().decode(b)
const peer = { toString: () => '12D3KooWBuyer' }

describe('toX402Handler', () => {
  it('round-trips JSON bytes and passes the caller', async () => {
    const handler = toX402Handler({
      executor: functionExecutor<{ a: number; b: number }>((input, ctx) => ({
        sum: input.a + input.b,
        by: ctx.caller
      })),
      inputSchema: { type: 'object', required: ['a', 'b'] },
      timeoutMs: 1000
    })
    const out = await handler(
      { body: enc('{"a":2,"b":3}'), peer, correlationId: 'k' },
      { signal: new AbortController().signal }
    )
    expect(out).toBeInstanceOf(Uint8Array)
    expect(JSON.parse(dec(out))).toEqual({ sum: 5, by: '12D3KooWBuyer' })
    await expect(
      handler({ body: enc('{"a":2}'), peer, correlationId: 'k' }, { signal: new AbortController().signal })
    ).rejects.toBeInstanceOf(InputValidationError)
    await expect(
      handler({ body: enc('not json'), peer, correlationId: 'k' }, { signal: new AbortController().signal })
    ).rejects.toBeInstanceOf(InputValidationError)
  })

  it('passes plain text when there is no schema or a string schema', async () => {
    const handler = toX402Handler({ executor: textStatsExecutor() })
    const out = JSON.parse(
      dec(
        await handler(
          { body: enc('Hello world. Bye now!'), peer, correlationId: 'k' },
          { signal: AbortSignal.timeout(1000) }
        )
      )
    )
    expect(out).toMatchObject({ words: 4, sentences: 2, summary: 'Hello world.' })
    expect(decodeInput(enc('"quoted"'), { type: 'string' })).toBe('quoted')
    expect(decodeInput(enc('123'), { type: 'string' })).toBe('123')
    expect(decodeInput(enc('123'))).toBe(123)
    expect(() => decodeInput(new Uint8Array([0xff, 0xfe]))).toThrow(InputValidationError)
  })
})
