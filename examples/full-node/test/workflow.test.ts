import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Devnet } from '@betar/devnet'
import { type BetarNode, type SoldAgent, sellAgent, workflowsOf } from '@betar/node'
import { verifyWorkflowReceipt, type WorkflowReceipt } from '@betar/workflow'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nodeOn, publishClaimingListing, startDevnet, textStatsAgent } from '../../../packages/node/test/fixtures.ts'
import { createApi, createApiToken, type RunningApi, startApi } from '../src/api/index.ts'
import { headlineAgent } from '../src/demo-workflow.ts'
import { cliRunner } from './cli-harness.ts'

const TEXT = 'Workflows chain paid agents. Each hop pays in USDC and the receipt is checked on-chain.'

const definition = {
  name: 'two hops',
  input: TEXT,
  budget: '400000',
  steps: [
    { id: 'stats', capability: 'text-analysis', maxPrice: '250000' },
    {
      id: 'headline',
      capability: 'headline',
      input: { summary: { $ref: '/steps/stats/output/summary' }, keywords: { $ref: '/steps/stats/output/keywords' } },
      maxPrice: '100000'
    }
  ]
}

const headline = (input: unknown) => {
  const { summary, keywords } = input as { summary: string; keywords: string[] }
  return { headline: `${keywords[0]?.toUpperCase()}: ${summary}` }
}

/** A full node runs workflows through its REST API and the `betar workflow` commands: text-stats → headline. */
describe('workflows on full nodes (REST and CLI)', () => {
  let devnet: Devnet
  let seller: BetarNode
  let seller2: BetarNode
  let buyer: BetarNode
  let api: RunningApi
  let sold: SoldAgent
  let dir: string
  const token = createApiToken()

  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${api.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    })

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 4 })
    seller = await nodeOn(devnet, 0)
    seller2 = await nodeOn(devnet, 2)
    sold = await sellAgent(seller, textStatsAgent)
    await sellAgent(seller2, headlineAgent, { executor: { functions: { headline } } })
    buyer = await nodeOn(devnet, 1, { bootstrap: [...seller.multiaddrs(), ...seller2.multiaddrs()].map(String) })
    api = await startApi(createApi(buyer, { token }))
    dir = await mkdtemp(join(tmpdir(), 'betar-workflow-cli-'))
  }, 90_000)

  afterAll(async () => {
    await api?.close()
    await buyer?.stop()
    await seller2?.stop()
    await seller?.stop()
    await devnet?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('POST /workflows runs a two-hop chain; GET shows it; the receipt verifies on-chain', async () => {
    for (let i = 0; i < 100 && buyer.services.market.find({ capability: 'headline' }).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50))
    }
    const before = await buyer.usdcBalance()
    const res = await call('/workflows', { method: 'POST', body: JSON.stringify({ definition, id: 'rest-1' }) })
    expect(res.status).toBe(202)
    expect(await res.json()).toMatchObject({ id: 'rest-1', budget: '400000', budgetUsdc: '0.4' })
    type View = { status: string; spent: string; steps: Record<string, { output?: unknown }> }
    let record: View | undefined
    for (let i = 0; i < 300; i++) {
      record = (await (await call('/workflows/rest-1')).json()) as View
      if (record?.status !== 'running' && record?.status !== 'pending') break
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(record?.status).toBe('completed')
    expect(record?.spent).toBe('350000')
    expect(record?.steps.headline?.output).toMatchObject({ headline: expect.stringContaining(':') })
    expect(await buyer.usdcBalance()).toBe(before - 350_000n)

    const list = (await (await call('/workflows?status=completed')).json()) as { workflows: Array<{ id: string }> }
    expect(list.workflows.map((w) => w.id)).toContain('rest-1')
    const receipt = (await (await call('/workflows/rest-1/receipt')).json()) as WorkflowReceipt
    expect(receipt.entries.map((e) => e.stepId)).toEqual(['stats', 'headline'])
    expect(await verifyWorkflowReceipt(receipt, buyer.clients.publicClient)).toEqual({
      ok: true,
      issues: [],
      spent: 350_000n
    })
    // Cancelling an ended workflow changes nothing.
    const cancelled = await call('/workflows/rest-1/cancel', { method: 'POST' })
    expect(cancelled.status).toBe(200)
    expect(await cancelled.json()).toMatchObject({ status: 'completed' })
  }, 60_000)

  it("verifies listings as buyService does: one whose payee is not the agent's wallet is never paid", async () => {
    // The seller's agent, listed cheaper and paid to another wallet: ERC-8004 verification refuses it.
    await publishClaimingListing(seller, devnet, sold, {
      id: 'forged',
      capability: 'text-analysis',
      payTo: devnet.accounts[3]!.address,
      amount: '1000'
    })
    for (let i = 0; i < 100 && buyer.services.market.find({ capability: 'text-analysis' }).length < 2; i++) {
      await new Promise((r) => setTimeout(r, 50))
    }
    const before = await buyer.usdcBalance()
    const record = await workflowsOf(buyer).run({
      input: TEXT,
      budget: '250000',
      steps: [{ id: 'stats', capability: 'text-analysis', maxPrice: '250000' }]
    })
    expect(record.status).toBe('completed')
    expect(record.steps.stats?.attempts.map((a) => a.listing)).toEqual([`${seller.peerId}/${sold.listing.id}`])
    expect(await buyer.usdcBalance()).toBe(before - 250_000n)
    // Only forged listings: the step fails with the verification reasons, nothing paid.
    const alone = await workflowsOf(buyer).run({
      input: TEXT,
      budget: '1000',
      steps: [{ id: 'stats', capability: 'text-analysis', maxPrice: '1000', retry: { maxSellers: 1 } }]
    })
    expect(alone.status).toBe('failed')
    expect(alone.steps.stats?.attempts).toEqual([])
    expect(alone.steps.stats?.error).toMatch(/PAYTO_NOT_AGENT_WALLET/)
    expect(await buyer.usdcBalance()).toBe(before - 250_000n)
  }, 60_000)

  it('refuses bad definitions with the issues, unknown ids with 404, a taken id with 409', async () => {
    const cycle = await call('/workflows', {
      method: 'POST',
      body: JSON.stringify({
        definition: {
          budget: '10',
          steps: [
            { id: 'a', capability: 'x', maxPrice: '1', after: ['b'] },
            { id: 'b', capability: 'x', maxPrice: '1', after: ['a'] }
          ]
        }
      })
    })
    expect(cycle.status).toBe(400)
    expect(await cycle.json()).toMatchObject({ error: { name: 'WorkflowCycleError', issues: [expect.any(String)] } })
    expect((await call('/workflows/nope')).status).toBe(404)
    expect((await call('/workflows/nope/receipt')).status).toBe(404)
    const again = await call('/workflows', { method: 'POST', body: JSON.stringify({ definition, id: 'rest-1' }) })
    expect(again.status).toBe(409)
  })

  it('betar workflow run <file.yaml>, status, receipt --verify', { timeout: 180_000 }, async () => {
    const devnetFile = join(dir, 'devnet.json')
    await writeFile(devnetFile, JSON.stringify(devnet.toJSON()))
    const file = join(dir, 'two-hops.yaml')
    await writeFile(
      file,
      `name: two hops
input: "${TEXT}"
budget: "400000"
steps:
  - id: stats
    capability: text-analysis
    maxPrice: "250000"
  - id: headline
    capability: headline
    input:
      summary: { $ref: /steps/stats/output/summary }
      keywords: { $ref: /steps/stats/output/keywords }
    maxPrice: "100000"
`
    )
    const { cli } = cliRunner(devnetFile)
    const env = { BETAR_WALLET_KEY: devnet.accounts[3]!.privateKey }
    const common = ['--data-dir', join(dir, 'cli-buyer')]
    const bootstrap = [...seller.multiaddrs(), ...seller2.multiaddrs()].flatMap((a) => ['--bootstrap', String(a)])
    const run = await cli(['workflow', 'run', file, '--id', 'cli-1', ...bootstrap, ...common], env, 120_000)
    expect(run.stderr).toContain('step headline: completed')
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('Workflow cli-1 (two hops): completed')
    expect(run.stdout).toContain('Spent 0.35 USDC of 0.4 USDC')

    const status = await cli(['workflow', 'status', ...common, '--json'], env)
    expect(JSON.parse(status.stdout).workflows).toMatchObject([{ id: 'cli-1', status: 'completed', spent: '350000' }])
    const receipt = await cli(['workflow', 'receipt', 'cli-1', '--verify', ...common], env)
    expect(receipt.code).toBe(0)
    expect(receipt.stdout).toContain('Verified: 2 payment(s), 0.35 USDC spent')
    const bad = await cli(['workflow', 'run', join(dir, 'missing.yaml'), ...common], env)
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('cannot read')
  })
})
