import { describe, expect, it } from 'vitest'
import {
  ExecutionAbortedError,
  ExecutionFailedError,
  ExecutionTimeoutError,
  functionExecutor,
  InputValidationError,
  OutputTooLargeError,
  OutputValidationError,
  runExecutor
} from '../src/index.ts'

const inputSchema = {
  type: 'object',
  properties: { text: { type: 'string' }, n: { type: 'integer', minimum: 1 } },
  required: ['text', 'n'],
  'x-betar-unknown': true
}
const outputSchema = { type: 'object', properties: { repeated: { type: 'string' } }, required: ['repeated'] }
const base = { timeoutMs: 1000, caller: 'peerA', correlationId: 'c1' }

describe('runExecutor', () => {
  it('validates input and output and passes the context', async () => {
    let seen: { caller: string; correlationId: string; signal: AbortSignal } | undefined
    const executor = functionExecutor<{ text: string; n: number }>((input, ctx) => {
      seen = ctx
      return { repeated: input.text.repeat(input.n) }
    })
    const out = await runExecutor(executor, { text: 'ab', n: 2 }, { ...base, inputSchema, outputSchema })
    expect(out).toEqual({ repeated: 'abab' })
    expect(seen?.caller).toBe('peerA')
    expect(seen?.correlationId).toBe('c1')
    expect(seen?.signal.aborted).toBe(false)
  })

  it('rejects invalid input before running, with all ajv errors', async () => {
    let ran = false
    const executor = functionExecutor(() => {
      ran = true
      return { repeated: '' }
    })
    const err = await runExecutor(executor, { text: 1, n: 0 }, { ...base, inputSchema }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InputValidationError)
    expect((err as InputValidationError).errors.map((e) => e.instancePath).sort()).toEqual(['/n', '/text'])
    expect((err as Error).name).toBe('InputValidationError')
    expect(ran).toBe(false)
  })

  it('rejects invalid output', async () => {
    const executor = functionExecutor(() => ({ repeated: 5 }))
    const err = await runExecutor(executor, null, { ...base, outputSchema }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OutputValidationError)
    expect((err as OutputValidationError).output).toEqual({ repeated: 5 })
    expect((err as OutputValidationError).errors[0]?.instancePath).toBe('/repeated')
  })

  it('aborts the executor signal on timeout', async () => {
    let signal: AbortSignal | undefined
    const executor = functionExecutor((_, ctx) => {
      signal = ctx.signal
      return new Promise(() => {})
    })
    const started = Date.now()
    await expect(runExecutor(executor, 'x', { ...base, timeoutMs: 50 })).rejects.toBeInstanceOf(ExecutionTimeoutError)
    expect(Date.now() - started).toBeLessThan(1000)
    expect(signal?.aborted).toBe(true)
  })

  it('aborts on the caller signal', async () => {
    let signal: AbortSignal | undefined
    const executor = functionExecutor((_, ctx) => {
      signal = ctx.signal
      return new Promise(() => {})
    })
    const controller = new AbortController()
    const pending = runExecutor(executor, 'x', { ...base, signal: controller.signal })
    setTimeout(() => controller.abort(new Error('buyer left')), 20)
    const err = await pending.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ExecutionAbortedError)
    expect(((err as Error).cause as Error).message).toBe('buyer left')
    expect(signal?.aborted).toBe(true)
    await expect(runExecutor(executor, 'x', { ...base, signal: controller.signal })).rejects.toBeInstanceOf(
      ExecutionAbortedError
    )
  })

  it('wraps executor errors with their cause', async () => {
    const boom = new Error('boom')
    const err = await runExecutor(
      functionExecutor(() => {
        throw boom
      }),
      'x',
      base
    ).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ExecutionFailedError)
    expect((err as Error).cause).toBe(boom)
  })

  it('collects streamed text, parses it for a JSON output schema, and bounds its size', async () => {
    const stream = functionExecutor(async function* () {
      yield '{"repeated":'
      yield '"ok"}'
    })
    expect(await runExecutor(stream, 'x', base)).toBe('{"repeated":"ok"}')
    expect(await runExecutor(stream, 'x', { ...base, outputSchema })).toEqual({ repeated: 'ok' })
    let closed = false
    const endless = functionExecutor(async function* () {
      try {
        while (true) yield 'x'.repeat(100)
      } finally {
        closed = true
      }
    })
    await expect(runExecutor(endless, 'x', { ...base, maxOutputBytes: 1000 })).rejects.toBeInstanceOf(
      OutputTooLargeError
    )
    expect(closed).toBe(true)
  })

  it('times out a stalled stream', async () => {
    const stalled = functionExecutor(async function* () {
      yield 'a'
      await new Promise(() => {})
    })
    await expect(runExecutor(stalled, 'x', { ...base, timeoutMs: 50 })).rejects.toBeInstanceOf(ExecutionTimeoutError)
  })
})
