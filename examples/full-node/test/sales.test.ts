import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AgentConfig } from '@betar/executor'
import { type BetarNode, buyService, type SaleRecord, sellAgent } from '@betar/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nodeOn, startDevnet } from '../../../packages/node/test/fixtures.ts'
import { createApi, createApiToken, startApi } from '../src/api/index.ts'

const PRICE = 100_000n
const picky = (name: string, settlement: 'before' | 'after'): AgentConfig => ({
  name,
  description: 'Upper-cases text; fails on "fail"',
  capabilities: [name],
  price: { amount: PRICE.toString() },
  settlement,
  executor: { kind: 'function', module: join(import.meta.dirname, 'picky-agent.mjs') }
})

/**
 * Issue 11, case 4: the seller's operator sees every paid call's outcome — as an event when it happens, in the sales
 * log (persisted: it survives a restart) and as earnings per agent — through the library, REST and (cli-restart) CLI.
 */
describe('full node: the sales log', () => {
  let devnet: Awaited<ReturnType<typeof startDevnet>>
  let dir: string
  let seller: BetarNode
  let buyer: BetarNode

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 2 })
    dir = await mkdtemp(join(tmpdir(), 'betar-sales-'))
    seller = await nodeOn(devnet, 0, { dataDir: join(dir, 'seller'), healthCheckIntervalMs: 0 })
    buyer = await nodeOn(devnet, 1, { bootstrap: seller.multiaddrs().map(String) })
  }, 60_000)
  afterAll(async () => {
    await buyer?.stop()
    await seller?.stop()
    await devnet?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('records sold, refunded and failed calls with their transactions, and earnings per agent', async () => {
    await sellAgent(seller, picky('shout', 'before'))
    await sellAgent(seller, picky('shout-after', 'after'))
    const events: SaleRecord[] = []
    seller.sales.addEventListener('sale', (e) => events.push(e.detail))
    const buy = (capability: string, input: string) =>
      buyService(buyer, capability, input, { maxPrice: PRICE, feedback: false }).catch((e: unknown) => e)

    const start = Date.now()
    const sold = await buy('shout', 'hi')
    await buy('shout', 'fail') // settled, then refunded
    await buy('shout-after', 'fail') // never settled
    await buy('shout-after', 'ok')
    expect(events.map((e) => [e.agent, e.outcome])).toEqual([
      ['shout', 'sold'],
      ['shout', 'refunded'],
      ['shout-after', 'failed'],
      ['shout-after', 'sold']
    ])
    const first = events[0]!
    expect(first).toMatchObject({
      buyer: buyer.peerId,
      payer: buyer.wallet.address,
      amount: PRICE.toString(),
      transaction: (sold as { call: { settlement: { transaction: string } } }).call.settlement.transaction
    })
    expect(first.durationMs).toBeGreaterThanOrEqual(0)
    expect(events[1]).toMatchObject({
      transaction: expect.stringMatching(/^0x[0-9a-f]{64}$/),
      refundTransaction: expect.stringMatching(/^0x[0-9a-f]{64}$/)
    })
    expect(events[1]!.transaction).not.toBe(events[1]!.refundTransaction)
    expect(events[1]!.reason).toMatch(/^EXECUTION_FAILED/)
    expect(events[1]!.reason).not.toMatch(/refusing to work/) // the handler's words stay in the seller's log only

    // Newest first, filtered, and earnings count only what was kept.
    expect((await seller.sales.list()).map((s) => s.outcome)).toEqual(['sold', 'failed', 'refunded', 'sold'])
    expect(await seller.sales.list({ agent: 'shout', outcome: 'refunded' })).toHaveLength(1)
    expect(await seller.sales.list({ since: Date.now() + 1_000 })).toEqual([])
    const earnings = await seller.sales.earnings({ since: start })
    expect(earnings).toEqual([
      { agent: 'shout', sold: 1, refunded: 1, failed: 0, earned: PRICE.toString() },
      { agent: 'shout-after', sold: 1, refunded: 0, failed: 1, earned: PRICE.toString() }
    ])

    // REST: the same, with decimal USDC next to atomic units.
    const token = createApiToken()
    const api = await startApi(createApi(seller, { token }))
    try {
      const res = await fetch(`${api.url}/sales?agent=shout`, { headers: { authorization: `Bearer ${token}` } })
      expect(res.status).toBe(200)
      const body = (await res.json()) as { sales: Array<SaleRecord & { amountUsdc: string }>; earnings: unknown[] }
      expect(body.sales.map((s) => [s.outcome, s.amountUsdc])).toEqual([
        ['refunded', '0.1'],
        ['sold', '0.1']
      ])
      expect(body.earnings).toEqual([
        { agent: 'shout', sold: 1, refunded: 1, failed: 0, earned: PRICE.toString(), earnedUsdc: '0.1' }
      ])
      const bad = await fetch(`${api.url}/sales?outcome=stolen`, { headers: { authorization: `Bearer ${token}` } })
      expect(bad.status).toBe(400)
    } finally {
      await api.close()
    }

    // The log survives a restart.
    await buyer.stop()
    await seller.stop()
    seller = await nodeOn(devnet, 0, { dataDir: join(dir, 'seller'), healthCheckIntervalMs: 0 })
    buyer = await nodeOn(devnet, 1, { bootstrap: seller.multiaddrs().map(String) })
    expect((await seller.sales.list()).map((s) => s.outcome)).toEqual(['sold', 'failed', 'refunded', 'sold'])
  }, 90_000)
})
