import { FunctionTool, LlmAgent } from '@google/adk'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { adkExecutor, runExecutor } from '../src/index.ts'
import { ScriptedLlm } from './scripted-llm.ts'

function makeAgent(model: ScriptedLlm, calls: string[]): LlmAgent {
  const tool = new FunctionTool({
    name: 'get_price',
    description: 'Price of a token in USD',
    parameters: z.object({ symbol: z.string() }),
    execute: ({ symbol }) => {
      calls.push(symbol)
      return { symbol, price: 1 }
    }
  })
  return new LlmAgent({ name: 'pricer', model, instruction: 'You quote prices.', tools: [tool] })
}

const opts = (caller: string, correlationId: string) => ({ timeoutMs: 5000, caller, correlationId })

describe('adkExecutor', () => {
  it('runs a tool call round trip and returns the final text', async () => {
    const model = new ScriptedLlm()
    const calls: string[] = []
    const executor = adkExecutor({ agent: makeAgent(model, calls), appName: 'test' })
    const out = await runExecutor(executor, 'price of USDC?', opts('peerA', 'c1'))
    expect(out).toBe('price is {"symbol":"USDC","price":1} for "price of USDC?"')
    expect(calls).toEqual(['USDC'])
    expect(model.requests).toHaveLength(2)
  })

  it('keeps one session per (caller, correlationId) and isolates callers', async () => {
    const model = new ScriptedLlm()
    const executor = adkExecutor({ agent: makeAgent(model, []), appName: 'test' })
    await runExecutor(executor, 'secret of alice', opts('alice', 'same-id'))
    const aliceRequests = model.requests.length
    await runExecutor(executor, 'question of bob', opts('bob', 'same-id'))
    const bobSeen = JSON.stringify(model.requests.slice(aliceRequests))
    expect(bobSeen).toContain('question of bob')
    expect(bobSeen).not.toContain('secret of alice')

    // Same caller and correlation id: the conversation continues.
    const before = model.requests.length
    await runExecutor(executor, 'follow-up of alice', opts('alice', 'same-id'))
    expect(JSON.stringify(model.requests[before])).toContain('secret of alice')
    // Same caller, new correlation id: a fresh session.
    const before2 = model.requests.length
    await runExecutor(executor, 'new topic', opts('alice', 'other-id'))
    expect(JSON.stringify(model.requests[before2])).not.toContain('secret of alice')
  })

  it('builds one agent per caller from a factory', async () => {
    const model = new ScriptedLlm()
    let built = 0
    const executor = adkExecutor({
      agent: () => {
        built++
        return makeAgent(model, [])
      },
      appName: 'test'
    })
    await runExecutor(executor, 'a', opts('alice', '1'))
    await runExecutor(executor, 'b', opts('alice', '2'))
    await runExecutor(executor, 'c', opts('bob', '1'))
    expect(built).toBe(2)
  })

  it('streams text parts', async () => {
    const model = new ScriptedLlm()
    const executor = adkExecutor({ agent: makeAgent(model, []), appName: 'test', stream: true })
    const result = executor.execute('stream please', {
      signal: AbortSignal.timeout(5000),
      caller: 'peerS',
      correlationId: 's1'
    })
    const chunks: string[] = []
    for await (const chunk of result as AsyncIterable<string>) chunks.push(chunk)
    expect(chunks.length).toBeGreaterThanOrEqual(2)
    expect(chunks.join('')).toBe('price is {"symbol":"USDC","price":1} for "stream please"')
    expect(await runExecutor(executor, 'again', opts('peerS', 's2'))).toBe(
      'price is {"symbol":"USDC","price":1} for "again"'
    )
  })
})
