import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyWorkflowReceipt, type WorkflowRecord } from '../src/index.ts'
import {
  type BuyerNode,
  type Chain,
  createBuyer,
  createSeller,
  json,
  parse,
  type SellerNode,
  StaticListings,
  sell,
  startChain
} from './fixtures/nodes.ts'

const TEXT = 'Betar lets agents sell work to other agents. Payments settle in USDC over libp2p streams.'

const stats = (text: string) => ({ words: text.split(/\s+/).filter(Boolean).length, summary: text.split('.')[0] ?? '' })

/** Exact spend: Σ settled − Σ refunds over the attempts, and what the receipt says. */
function spentOf(record: WorkflowRecord): bigint {
  return BigInt(record.spent)
}

describe('workflows on real libp2p nodes and the devnet', () => {
  let chain: Chain
  let market: StaticListings
  let s1: SellerNode
  let s2: SellerNode
  let buyer: BuyerNode
  const calls = new Map<string, number>()
  const count = (id: string) => calls.set(id, (calls.get(id) ?? 0) + 1)
  const overlap = { active: 0, max: 0 }

  const wallet = (i: number) => chain.devnet.accounts[i]!.address

  beforeAll(async () => {
    chain = await startChain(4)
    market = new StaticListings()
    s1 = await createSeller(chain, chain.devnet.accounts[0]!)
    s2 = await createSeller(chain, chain.devnet.accounts[2]!)
    const slow = async <T>(value: T): Promise<T> => {
      overlap.active++
      overlap.max = Math.max(overlap.max, overlap.active)
      await new Promise((r) => setTimeout(r, 700))
      overlap.active--
      return value
    }
    market.add(
      sell(s1, chain, wallet(0), {
        id: 'stats',
        capability: 'text-analysis',
        price: 250_000n,
        inputSchema: { type: 'string', minLength: 1 },
        handler: (req) => {
          count('stats')
          return json(stats(parse(req.body) as string))
        }
      })
    )
    market.add(
      sell(s1, chain, wallet(0), {
        id: 'upper',
        capability: 'shout',
        price: 100_000n,
        inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
        handler: async (req) => {
          count('upper')
          return json(await slow(((parse(req.body) as { text: string }).text ?? '').toUpperCase()))
        }
      })
    )
    market.add(
      sell(s2, chain, wallet(2), {
        id: 'reverse',
        capability: 'reverse',
        price: 120_000n,
        handler: async (req) => {
          count('reverse')
          return json(await slow([...String((parse(req.body) as { text: string }).text)].reverse().join('')))
        }
      })
    )
    market.add(
      sell(s2, chain, wallet(2), {
        id: 'join',
        capability: 'join',
        price: 50_000n,
        handler: (req) => {
          count('join')
          const { a, b } = parse(req.body) as { a: string; b: string }
          return json({ joined: `${a}|${b}` })
        }
      })
    )
    // Two sellers of "translate": the cheaper one fails in its handler (after settling: refunded on-chain).
    market.add(
      sell(s1, chain, wallet(0), {
        id: 'translate-broken',
        capability: 'translate',
        price: 70_000n,
        handler: () => {
          count('translate-broken')
          throw new Error('model crashed')
        }
      })
    )
    market.add(
      sell(s2, chain, wallet(2), {
        id: 'translate',
        capability: 'translate',
        price: 90_000n,
        handler: (req) => {
          count('translate')
          return json({ fr: `«${(parse(req.body) as string) ?? ''}»` })
        }
      })
    )
    market.add(
      sell(s2, chain, wallet(2), {
        id: 'expensive',
        capability: 'expensive',
        price: 900_000n,
        handler: () => {
          count('expensive')
          return json('costly')
        }
      })
    )
    buyer = await createBuyer(chain, chain.devnet.accounts[1]!, market, { budget: 5_000_000n })
  })

  afterAll(async () => {
    await buyer?.stop()
    await s1?.stop()
    await s2?.stop()
    await chain?.stop()
  })

  it('runs a 3-step chain, each step reading the previous output; spend is exact and on-chain', async () => {
    const before = { buyer: await chain.balance(wallet(1)), s1: await chain.balance(wallet(0)) }
    const record = await buyer.services.workflow.run({
      input: { text: TEXT },
      budget: '1000000',
      steps: [
        { id: 'stats', capability: 'text-analysis', input: { $ref: '/input/text' }, maxPrice: '300000' },
        {
          id: 'shout',
          capability: 'shout',
          input: { text: { $ref: '/steps/stats/output/summary' } },
          maxPrice: 100000
        },
        {
          id: 'fr',
          capability: 'translate',
          input: { $ref: '/steps/shout/output' },
          maxPrice: '100000',
          retry: { maxSellers: 1 }
        }
      ]
    })
    // The cheapest translator fails (refunded), and maxSellers 1 allows no fallback: the workflow fails at step 3.
    expect(record.status).toBe('failed')
    expect(record.steps.fr?.status).toBe('failed')
    expect(record.steps.fr?.attempts[0]).toMatchObject({
      listing: expect.stringMatching(/translate-broken$/),
      state: 'refunded'
    })
    expect(record.steps.stats?.output).toEqual(stats(TEXT))
    expect(record.steps.shout?.output).toBe('BETAR LETS AGENTS SELL WORK TO OTHER AGENTS')
    expect(spentOf(record)).toBe(350_000n)
    expect(await chain.balance(wallet(1))).toBe(before.buyer - 350_000n)
    expect(await chain.balance(wallet(0))).toBe(before.s1 + 350_000n)

    // With fallback (the default: 3 sellers), the same chain completes at the second translator.
    const start = await chain.balance(wallet(1))
    const ok = await buyer.services.workflow.run({
      input: { text: TEXT },
      budget: '1000000',
      steps: [
        { id: 'stats', capability: 'text-analysis', input: { $ref: '/input/text' }, maxPrice: '300000' },
        {
          id: 'shout',
          capability: 'shout',
          input: { text: { $ref: '/steps/stats/output/summary' } },
          maxPrice: 100000
        },
        { id: 'fr', capability: 'translate', input: { $ref: '/steps/shout/output' }, maxPrice: '100000' }
      ]
    })
    expect(ok.status).toBe('completed')
    expect(ok.steps.fr?.output).toEqual({ fr: '«BETAR LETS AGENTS SELL WORK TO OTHER AGENTS»' })
    expect(ok.steps.fr?.attempts.map((a) => a.state)).toEqual(['refunded', 'paid'])
    // 250000 + 100000 + 90000; the failed seller's 70000 came back.
    expect(spentOf(ok)).toBe(440_000n)
    expect(await chain.balance(wallet(1))).toBe(start - 440_000n)
    const receipt = await buyer.services.workflow.receipt(ok.id)
    expect(receipt.entries.map((e) => [e.stepId, e.outcome, e.price])).toEqual([
      ['stats', 'result', '250000'],
      ['shout', 'result', '100000'],
      ['fr', 'refunded', '70000'],
      ['fr', 'result', '90000']
    ])
    expect(receipt.spent).toBe('440000')
    const verified = await verifyWorkflowReceipt(JSON.parse(JSON.stringify(receipt)), chain.client)
    expect(verified).toEqual({ ok: true, issues: [], spent: 440_000n })

    // Tampering with any entry breaks the chain.
    const forged = structuredClone(receipt)
    forged.entries[1]!.price = '1'
    const bad = await verifyWorkflowReceipt(forged, chain.client)
    expect(bad.ok).toBe(false)
    expect(bad.issues.join('\n')).toMatch(/entry 1: hash does not match/)
  })

  it('falls back to the next seller when the best one has gone offline (nothing paid to it)', async () => {
    const gone = await createSeller(chain, chain.devnet.accounts[3]!)
    market.add(
      sell(gone, chain, wallet(3), {
        id: 'shout-cheap',
        capability: 'shout',
        price: 60_000n,
        handler: () => json('never')
      })
    )
    await gone.stop()
    const before = { buyer: await chain.balance(wallet(1)), gone: await chain.balance(wallet(3)) }
    const record = await buyer.services.workflow.run({
      input: { text: TEXT },
      budget: '400000',
      steps: [
        { id: 'stats', capability: 'text-analysis', input: { $ref: '/input/text' }, maxPrice: '250000' },
        {
          id: 'shout',
          capability: 'shout',
          input: { text: { $ref: '/steps/stats/output/summary' } },
          maxPrice: '100000'
        }
      ]
    })
    market.listings.delete(`${gone.peerId}/shout-cheap`)
    expect(record.status).toBe('completed')
    expect(record.steps.shout?.attempts.map((a) => [a.listing.split('/')[1], a.state])).toEqual([
      ['shout-cheap', 'not-paid'],
      ['upper', 'paid']
    ])
    expect(record.spent).toBe('350000')
    expect(await chain.balance(wallet(1))).toBe(before.buyer - 350_000n)
    expect(await chain.balance(wallet(3))).toBe(before.gone)
  })

  it('asks the listing verifier before paying: a refused seller is skipped, never paid', async () => {
    const refused: string[] = []
    const checked = await createBuyer(chain, chain.devnet.accounts[1]!, market, {
      verifyListing: async (listing) => {
        if (listing.id === 'translate-broken') {
          refused.push(listing.id)
          throw new Error('payee is not the agent wallet')
        }
      }
    })
    try {
      const n = calls.get('translate-broken') ?? 0
      const record = await checked.services.workflow.run({
        input: 'bonjour',
        budget: '100000',
        steps: [{ id: 'fr', capability: 'translate', maxPrice: '100000' }]
      })
      expect(record.status).toBe('completed')
      expect(refused).toEqual(['translate-broken'])
      expect(record.steps.fr?.attempts.map((a) => a.listing.split('/')[1])).toEqual(['translate'])
      expect(calls.get('translate-broken') ?? 0).toBe(n)
      expect(record.spent).toBe('90000')
    } finally {
      await checked.stop()
    }
  })

  it('runs a diamond DAG with the independent steps in parallel; spend is exact', async () => {
    const before = await chain.balance(wallet(1))
    overlap.max = 0
    const record = await buyer.services.workflow.run({
      input: TEXT,
      budget: '600000',
      steps: [
        { id: 'a', capability: 'text-analysis', maxPrice: '250000' },
        { id: 'b', capability: 'shout', input: { text: { $ref: '/steps/a/output/summary' } }, maxPrice: '100000' },
        { id: 'c', capability: 'reverse', input: { text: { $ref: '/steps/a/output/summary' } }, maxPrice: '150000' },
        {
          id: 'd',
          capability: 'join',
          input: { a: { $ref: '/steps/b/output' }, b: { $ref: '/steps/c/output' } },
          maxPrice: '50000'
        }
      ]
    })
    expect(record.status).toBe('completed')
    expect(overlap.max).toBe(2)
    const summary = stats(TEXT).summary
    expect(record.steps.d?.output).toEqual({ joined: `${summary.toUpperCase()}|${[...summary].reverse().join('')}` })
    expect(spentOf(record)).toBe(250_000n + 100_000n + 120_000n + 50_000n)
    expect(await chain.balance(wallet(1))).toBe(before - 520_000n)
    const verified = await verifyWorkflowReceipt(await buyer.services.workflow.receipt(record.id), chain.client)
    expect(verified.ok).toBe(true)
    expect(verified.spent).toBe(520_000n)
  })

  it('never pays a step over its cap or over what the budget has left', async () => {
    const before = await chain.balance(wallet(1))
    const n = calls.get('stats') ?? 0
    // The only seller asks 900000, the cap is 500000: refused before anything (even step 1) is paid.
    const capped = await buyer.services.workflow.run({
      input: TEXT,
      budget: '2000000',
      steps: [
        { id: 'a', capability: 'text-analysis', maxPrice: '250000' },
        { id: 'b', capability: 'expensive', input: { $ref: '/steps/a/output' }, maxPrice: '500000' }
      ]
    })
    expect(capped.status).toBe('failed')
    expect(capped.steps.b?.error).toMatch(/NoSellerError/)
    expect(capped.steps.a?.attempts).toEqual([])
    expect(calls.get('stats') ?? 0).toBe(n)
    expect(calls.get('expensive') ?? 0).toBe(0)
    expect(await chain.balance(wallet(1))).toBe(before)

    // Each cap fits, but after step a (250000) the 300000 budget has 50000 left: step b (100000) is never paid.
    const tight = await buyer.services.workflow.run({
      input: TEXT,
      budget: '300000',
      steps: [
        { id: 'a', capability: 'text-analysis', maxPrice: '250000' },
        { id: 'b', capability: 'shout', input: { text: { $ref: '/steps/a/output/summary' } }, maxPrice: '100000' }
      ]
    })
    expect(tight.status).toBe('failed')
    expect(tight.steps.b?.attempts).toEqual([])
    expect(tight.steps.b?.error).toMatch(/no listing within 50000/)
    expect(spentOf(tight)).toBe(250_000n)
    expect(await chain.balance(wallet(1))).toBe(before - 250_000n)
  })

  it("checks inputs against the listing's schema before paying anything", async () => {
    const before = await chain.balance(wallet(1))
    const record = await buyer.services.workflow.run({
      input: { text: 42 },
      budget: '1000000',
      steps: [{ id: 'a', capability: 'text-analysis', input: { $ref: '/input/text' }, maxPrice: '250000' }]
    })
    expect(record.status).toBe('failed')
    expect(record.steps.a?.error).toMatch(/StepInputError.*must be string/)
    expect(await chain.balance(wallet(1))).toBe(before)
  })

  it("reserves budgets against the node's x402 budget", async () => {
    const left = buyer.services.x402Client.budgetRemaining()!
    await expect(
      buyer.services.workflow.submit({
        budget: (left + 1n).toString(),
        steps: [{ id: 'a', capability: 'text-analysis', maxPrice: '1' }]
      })
    ).rejects.toHaveProperty('name', 'WorkflowBudgetError')
  })

  it('cancels: unstarted steps never run', async () => {
    const before = await chain.balance(wallet(1))
    const n = calls.get('join') ?? 0
    const submitted = await buyer.services.workflow.submit({
      input: TEXT,
      budget: '1000000',
      steps: [
        { id: 'a', capability: 'text-analysis', maxPrice: '250000' },
        { id: 'b', capability: 'shout', input: { text: { $ref: '/steps/a/output/summary' } }, maxPrice: '100000' },
        { id: 'c', capability: 'join', input: { a: { $ref: '/steps/b/output' }, b: 'x' }, maxPrice: '50000' }
      ]
    })
    // Cancel while b (400 ms handler) is in flight.
    for (let i = 0; i < 200; i++) {
      const r = await buyer.services.workflow.get(submitted.id)
      if (r?.steps.b?.status === 'running') break
      await new Promise((r) => setTimeout(r, 20))
    }
    // One runner per workflow: a second run while it runs is refused.
    await expect(buyer.services.workflow.resume(submitted.id)).rejects.toThrow(/already running/)
    const record = await buyer.services.workflow.cancel(submitted.id)
    expect(record.status).toBe('cancelled')
    expect(record.steps.c?.status).toBe('cancelled')
    expect(calls.get('join') ?? 0).toBe(n)
    // What was paid is what the record says (b may have been paid before the abort: then re-asked once for its result).
    expect(await chain.balance(wallet(1))).toBe(before - BigInt(record.spent))
    expect((await verifyWorkflowReceipt(await buyer.services.workflow.receipt(record.id), chain.client)).ok).toBe(true)
  })
})
