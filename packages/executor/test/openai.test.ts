import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ExecutionFailedError,
  ExecutionTimeoutError,
  LlmHttpError,
  LlmResponseError,
  openAiExecutor,
  runExecutor
} from '../src/index.ts'
import { startLlmServer } from './llm-server.ts'

let server: Awaited<ReturnType<typeof startLlmServer>>
beforeAll(async () => {
  server = await startLlmServer()
})
afterAll(async () => {
  await server.close()
})

const opts = { timeoutMs: 2000, caller: 'peerA', correlationId: 'c1' }

describe('openAiExecutor against a loopback server', () => {
  it('answers a plain request with system prompt, key and max_tokens', async () => {
    const executor = openAiExecutor({
      baseUrl: `${server.baseUrl}/`,
      model: 'tiny',
      apiKey: 'sk-test',
      system: 'Be loud.',
      maxTokens: 64
    })
    expect(await runExecutor(executor, 'hello there', opts)).toBe('HELLO THERE')
    const last = server.received.at(-1)
    expect(last?.authorization).toBe('Bearer sk-test')
    expect(last?.body).toMatchObject({
      model: 'tiny',
      max_tokens: 64,
      stream: false,
      messages: [
        { role: 'system', content: 'Be loud.' },
        { role: 'user', content: 'hello there' }
      ]
    })
  })

  it('is stateless: each call sends only its own messages', async () => {
    const executor = openAiExecutor({ baseUrl: server.baseUrl, model: 'tiny' })
    await runExecutor(executor, 'from alice', { ...opts, caller: 'alice' })
    await runExecutor(executor, { messages: [{ role: 'user', content: 'from bob' }] }, { ...opts, caller: 'bob' })
    expect(server.received.at(-1)?.body.messages).toEqual([{ role: 'user', content: 'from bob' }])
    expect(await runExecutor(executor, { q: 'x' }, opts)).toBe('{"Q":"X"}')
  })

  it('streams SSE deltas', async () => {
    const executor = openAiExecutor({ baseUrl: server.baseUrl, model: 'tiny', stream: true })
    const chunks: string[] = []
    const stream = executor.execute('one two three', {
      signal: AbortSignal.timeout(2000),
      caller: 'p',
      correlationId: 'c'
    }) as AsyncIterable<string>
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks).toEqual(['ONE ', 'TWO ', 'THREE'])
    expect(server.received.at(-1)?.body.stream).toBe(true)
    expect(await runExecutor(executor, 'four five', opts)).toBe('FOUR FIVE')
  })

  it('turns a 500 into a typed error with status and body', async () => {
    const executor = openAiExecutor({ baseUrl: server.baseUrl, model: 'fail' })
    const err = await runExecutor(executor, 'x', opts).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ExecutionFailedError)
    const cause = (err as Error).cause
    expect(cause).toBeInstanceOf(LlmHttpError)
    expect((cause as LlmHttpError).status).toBe(500)
    expect((cause as LlmHttpError).bodyExcerpt).toContain('model crashed')
  })

  it('times out a slow server', async () => {
    const executor = openAiExecutor({ baseUrl: server.baseUrl, model: 'slow' })
    const started = Date.now()
    await expect(runExecutor(executor, 'x', { ...opts, timeoutMs: 100 })).rejects.toBeInstanceOf(ExecutionTimeoutError)
    expect(Date.now() - started).toBeLessThan(1500)
  })

  it('bounds the response size', async () => {
    const executor = openAiExecutor({ baseUrl: server.baseUrl, model: 'tiny', maxResponseBytes: 50 })
    const err = await runExecutor(executor, 'a long enough message to exceed fifty bytes', opts).catch(
      (e: unknown) => e
    )
    expect((err as Error).cause).toBeInstanceOf(LlmResponseError)
  })
})
