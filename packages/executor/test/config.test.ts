import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  AgentsConfigError,
  createExecutor,
  loadAgentsConfig,
  parseAgentsConfig,
  probeExecutor,
  runExecutor
} from '../src/index.ts'
import { ScriptedLlm } from './scripted-llm.ts'

const yamlText = `
agents:
  - name: summarizer
    description: Counts words and summarises text
    capabilities: [text, summary]
    price: { amount: "10000", asset: USDC, network: eip155:84532 }
    inputSchema: { type: string }
    timeoutMs: 5000
    executor: { kind: echo }
  - name: double
    description: Doubles a number
    capabilities: [math]
    price: { amount: "1" }
    inputSchema:
      type: object
      properties: { n: { type: number } }
      required: [n]
    executor: { kind: function, module: ./fixtures/double.mjs, export: double }
`

async function issuesOf(text: string): Promise<Array<{ path: string; message: string }>> {
  const err = await loadAgentsConfig(text).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(AgentsConfigError)
  return (err as AgentsConfigError).issues
}

const agent = (over: Record<string, unknown>) =>
  JSON.stringify({
    agents: [
      { name: 'a', description: 'd', capabilities: ['c'], price: { amount: '1' }, executor: { kind: 'echo' }, ...over }
    ]
  })

describe('agents config', () => {
  it('loads YAML text and files, and JSON files', async () => {
    const config = await loadAgentsConfig(yamlText)
    expect(config.agents.map((a) => a.name)).toEqual(['summarizer', 'double'])
    expect(config.agents[0]?.price).toEqual({ amount: '10000', asset: 'USDC', network: 'eip155:84532' })
    const dir = await mkdtemp(join(tmpdir(), 'executor-'))
    await writeFile(join(dir, 'agents.yaml'), yamlText)
    await writeFile(join(dir, 'agents.json'), JSON.stringify(config))
    // From a file, a relative `module` is the file's neighbour: made absolute from the file's folder.
    const fromFile = structuredClone(config)
    const fileDouble = fromFile.agents[1]
    if (fileDouble?.executor.kind !== 'function') throw new Error('expected the function agent')
    fileDouble.executor.module = join(dir, 'fixtures', 'double.mjs')
    expect(await loadAgentsConfig(join(dir, 'agents.yaml'))).toEqual(fromFile)
    expect(await loadAgentsConfig(join(dir, 'agents.json'))).toEqual(fromFile)
    expect(parseAgentsConfig(JSON.stringify(config))).toEqual(config)
  })

  it("resolves a function module from the config file's folder, not the working directory", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'executor-module-'))
    await mkdir(join(dir, 'lib'))
    await writeFile(join(dir, 'lib', 'triple.mjs'), 'export default (input) => ({ tripled: input.n * 3 })\n')
    await writeFile(
      join(dir, 'agents.yaml'),
      'agents:\n  - name: triple\n    description: Triples a number\n    capabilities: [math]\n' +
        '    price: { amount: "1" }\n    executor: { kind: function, module: ./lib/triple.mjs }\n' +
        '  - name: bare\n    description: A package import\n    capabilities: [bare]\n' +
        '    price: { amount: "1" }\n    executor: { kind: function, module: some-package }\n'
    )
    expect(process.cwd()).not.toBe(dir)
    const { agents } = await loadAgentsConfig(join(dir, 'agents.yaml'))
    const [triple, bare] = agents
    if (triple == null || bare == null) throw new Error('missing agents')
    expect(triple.executor).toEqual({ kind: 'function', module: join(dir, 'lib', 'triple.mjs') })
    expect(bare.executor).toEqual({ kind: 'function', module: 'some-package' })
    expect(await probeExecutor(triple)).toEqual({ ok: true })
    const opts = { timeoutMs: 5000, caller: 'peerA', correlationId: 'c1' }
    expect(await runExecutor(createExecutor(triple), { n: 5 }, opts)).toEqual({ tripled: 15 })
  })

  it('reports each failing path', async () => {
    expect(await issuesOf(agent({ price: { amount: '1.5' } }))).toMatchObject([{ path: 'agents[0].price.amount' }])
    expect(await issuesOf(agent({ name: 'bad name!' }))).toMatchObject([{ path: 'agents[0].name' }])
    expect(await issuesOf(agent({ description: undefined }))).toMatchObject([{ path: 'agents[0].description' }])
    expect(await issuesOf(agent({ capabilities: ['ok', 3] }))).toMatchObject([{ path: 'agents[0].capabilities[1]' }])
    // What the marketplace would refuse after the agent was registered on-chain is refused here, before any gas.
    expect(await issuesOf(agent({ capabilities: ['Text'] }))).toMatchObject([{ path: 'agents[0].capabilities[0]' }])
    expect(await issuesOf(agent({ capabilities: [] }))).toMatchObject([{ path: 'agents[0].capabilities' }])
    expect(await issuesOf(agent({ description: 'x'.repeat(2049) }))).toMatchObject([{ path: 'agents[0].description' }])
    expect(await issuesOf(agent({ timeoutMs: -1 }))).toMatchObject([{ path: 'agents[0].timeoutMs' }])
    expect(await issuesOf(agent({ executor: { kind: 'magic' } }))).toMatchObject([{ path: 'agents[0].executor.kind' }])
    expect(await issuesOf(agent({ executor: { kind: 'openai', model: 'm' } }))).toMatchObject([
      { path: 'agents[0].executor.baseUrl' }
    ])
    expect(await issuesOf(agent({ executor: { kind: 'adk', model: 'm', instruction: 'i', extra: 1 } }))).toMatchObject([
      { path: 'agents[0].executor' }
    ])
    expect(await issuesOf(agent({ inputSchema: { type: 'nonsense' } }))).toMatchObject([
      { path: 'agents[0].inputSchema' }
    ])
    expect(await issuesOf('{"agents": [')).toMatchObject([{ path: '', message: expect.stringContaining('JSON') }])
    expect(await issuesOf('agents: [unclosed')).toMatchObject([{ path: '', message: expect.stringContaining('YAML') }])
    expect(await issuesOf('{}')).toMatchObject([{ path: 'agents' }])
    const twice = JSON.parse(agent({})) as { agents: unknown[] }
    twice.agents.push(twice.agents[0])
    expect(await issuesOf(JSON.stringify(twice))).toMatchObject([{ path: 'agents[1].name' }])
    expect(await issuesOf('/nonexistent/agents.yaml')).toMatchObject([{ path: '' }])
    const err = await loadAgentsConfig(agent({ price: { amount: 'x' } })).catch((e: unknown) => e)
    expect((err as Error).message).toContain('agents[0].price.amount:')
  })
})

describe('createExecutor', () => {
  const opts = { timeoutMs: 5000, caller: 'peerA', correlationId: 'c1' }

  it('builds the deterministic echo agent and function agents', async () => {
    const { agents } = await loadAgentsConfig(yamlText)
    const [summarizer, double] = agents
    if (summarizer == null || double == null) throw new Error('missing agents')
    const out = await runExecutor(createExecutor(summarizer), 'The cat sat. The cat slept on the mat!', {
      ...opts,
      inputSchema: { type: 'string' }
    })
    expect(out).toEqual({
      echo: 'The cat sat. The cat slept on the mat!',
      words: 9,
      characters: 38,
      sentences: 2,
      keywords: ['slept'],
      summary: 'The cat sat.'
    })
    const fromModule = createExecutor(double, { baseDir: import.meta.dirname })
    expect(await runExecutor(fromModule, { n: 21 }, opts)).toEqual({ doubled: 42 })
    const registered = createExecutor(double, {
      functions: { double: (i) => ({ doubled: (i as { n: number }).n * 3 }) }
    })
    expect(await runExecutor(registered, { n: 2 }, opts)).toEqual({ doubled: 6 })
    const noExport = createExecutor(
      { ...double, executor: { kind: 'function', module: './fixtures/double.mjs' } },
      {
        baseDir: import.meta.dirname
      }
    )
    const err = await runExecutor(noExport, { n: 1 }, opts).catch((e: unknown) => e)
    expect((err as Error).cause).toBeInstanceOf(AgentsConfigError)
    expect(() => createExecutor({ ...double, executor: { kind: 'function' } })).toThrow(AgentsConfigError)
  })

  it('builds openai (key from env) and adk agents', async () => {
    const base = { name: 'x', description: 'd', capabilities: ['x'], price: { amount: '1' } }
    const openai = {
      ...base,
      executor: { kind: 'openai' as const, baseUrl: 'http://127.0.0.1:1/v1', model: 'm', apiKeyEnv: 'LLM_KEY' }
    }
    expect(() => createExecutor(openai, { env: {} })).toThrow(AgentsConfigError)
    expect(createExecutor(openai, { env: { LLM_KEY: 'k' } })).toHaveProperty('execute')

    const model = new ScriptedLlm()
    const adk = createExecutor(
      { ...base, name: 'my-agent', executor: { kind: 'adk', model: 'gemini-2.5-flash', instruction: 'Quote prices.' } },
      { adkModel: model }
    )
    expect(await runExecutor(adk, 'hi', opts)).toMatch(/Quote prices\..* \| hi$/s)
    expect(model.requests).toHaveLength(1)
  })
})
