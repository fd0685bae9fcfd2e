import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AgentConfig, InputValidationError, probeExecutor, validateRequestBody } from '../src/index.ts'
import { startLlmServer } from './llm-server.ts'

const agent = (executor: AgentConfig['executor']): AgentConfig =>
  ({
    name: 'probe-me',
    description: 'health check subject',
    capabilities: ['probe'],
    price: { amount: '1000' },
    executor
  }) as AgentConfig

/** Issue 10: a seller checks its executors before listing them, and periodically after. */
describe('probeExecutor', () => {
  let llm: Awaited<ReturnType<typeof startLlmServer>>
  beforeAll(async () => {
    llm = await startLlmServer()
  })
  afterAll(async () => {
    await llm?.close()
  })

  it('an OpenAI-compatible endpoint that answers /models is healthy', async () => {
    expect(await probeExecutor(agent({ kind: 'openai', baseUrl: llm.baseUrl, model: 'echo' }))).toEqual({ ok: true })
  })

  it('an endpoint that is down is named with the cause', async () => {
    // The case: port 9, which fetch refuses outright ("bad port").
    const port9 = await probeExecutor(agent({ kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1', model: 'x' }))
    expect(!port9.ok && port9.problem).toMatch(/GET http:\/\/127\.0\.0\.1:9\/v1\/models failed: fetch failed: bad port/)
    // A port nothing listens on.
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    await new Promise((resolve) => server.close(resolve))
    const closed = await probeExecutor(agent({ kind: 'openai', baseUrl: `http://127.0.0.1:${port}/v1`, model: 'x' }))
    expect(!closed.ok && closed.problem).toMatch(/failed: fetch failed: .*ECONNREFUSED/)
  })

  it('an endpoint answering an error status is unhealthy', async () => {
    const result = await probeExecutor(agent({ kind: 'openai', baseUrl: `${llm.baseUrl}/nope`, model: 'x' }))
    expect(!result.ok && result.problem).toMatch(/answered HTTP 404/)
  })

  it('a missing API key variable is reported before any request', async () => {
    const result = await probeExecutor(
      agent({ kind: 'openai', baseUrl: llm.baseUrl, model: 'x', apiKeyEnv: 'BETAR_TEST_NO_SUCH_KEY' }),
      { env: {} }
    )
    expect(!result.ok && result.problem).toMatch(/BETAR_TEST_NO_SUCH_KEY/)
  })

  it('a function module that is missing, or lacks its export, is unhealthy; a real one is healthy', async () => {
    const baseDir = import.meta.dirname
    const missing = await probeExecutor(agent({ kind: 'function', module: './fixtures/gone.mjs' }), { baseDir })
    expect(!missing.ok && missing.problem).toMatch(/gone\.mjs cannot be loaded/)
    const noExport = await probeExecutor(agent({ kind: 'function', module: './fixtures/double.mjs', export: 'nope' }), {
      baseDir
    })
    expect(!noExport.ok && noExport.problem).toMatch(/no function export "nope"/)
    const good = await probeExecutor(agent({ kind: 'function', module: './fixtures/double.mjs', export: 'double' }), {
      baseDir
    })
    expect(good).toEqual({ ok: true })
  })

  it('an ADK agent needs a Gemini key (or an offline model)', async () => {
    const adk = agent({ kind: 'adk', model: 'gemini-2.5-flash', instruction: 'x' } as AgentConfig['executor'])
    expect((await probeExecutor(adk, { env: {} })).ok).toBe(false)
    expect(await probeExecutor(adk, { env: { GEMINI_API_KEY: 'k' } })).toEqual({ ok: true })
  })
})

describe('validateRequestBody', () => {
  const schema = { type: 'object', required: ['text'], properties: { text: { type: 'string' } } }

  it('accepts input matching the schema and refuses the rest with ajv errors', () => {
    expect(() => validateRequestBody(new TextEncoder().encode('{"text":"hi"}'), schema)).not.toThrow()
    expect(() => validateRequestBody(new TextEncoder().encode('{"text":1}'), schema)).toThrow(InputValidationError)
    expect(() => validateRequestBody(new TextEncoder().encode('not json'), schema)).toThrow(/body is not JSON/)
    expect(() => validateRequestBody(Uint8Array.of(0xff, 0xfe), schema)).toThrow(/not valid UTF-8/)
  })

  it('without a schema, any UTF-8 text is an input', () => {
    expect(() => validateRequestBody(new TextEncoder().encode('plain text'))).not.toThrow()
  })
})
