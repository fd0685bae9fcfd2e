import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { paidFor, type WorkflowRecord } from '../src/index.ts'
import {
  type AgentNode,
  type BuyerNode,
  type Chain,
  createAgent,
  createBuyer,
  createSeller,
  json,
  parse,
  type SellerNode,
  StaticListings,
  sell,
  startChain
} from './fixtures/nodes.ts'

const RESEARCH_PRICE = 300_000n
const MARGIN_BPS = 1000 // the agent keeps 10%: it may spend at most 270000 of each 300000 call

/**
 * A buys "research" from agent B; B serves it by buying from C through a sub-contract workflow bounded by what A paid
 * less B's margin. B's handler fails when its sub-contract cannot complete — then A is refunded.
 */
describe('sub-contracting is bounded by what the buyer paid', () => {
  let chain: Chain
  let market: StaticListings
  let a: BuyerNode
  let b: AgentNode
  let c: SellerNode
  const subcontracts: WorkflowRecord[] = []

  const wallet = (i: number) => chain.devnet.accounts[i]!.address

  beforeAll(async () => {
    chain = await startChain(4)
    market = new StaticListings()
    c = await createSeller(chain, chain.devnet.accounts[2]!)
    b = await createAgent(chain, chain.devnet.accounts[0]!, market, MARGIN_BPS)
    a = await createBuyer(chain, chain.devnet.accounts[1]!, market)
    market.add(
      sell(c, chain, wallet(2), {
        id: 'summarize',
        capability: 'summarize',
        price: 150_000n,
        handler: (req) => json(`summary of ${parse(req.body) as string}`)
      })
    )
    market.add(
      sell(c, chain, wallet(2), {
        id: 'deep',
        capability: 'deep-summarize',
        price: 400_000n,
        handler: (req) => json(`deep summary of ${parse(req.body) as string}`)
      })
    )
    market.add(
      sell(b as unknown as SellerNode, chain, wallet(0), {
        id: 'research',
        capability: 'research',
        price: RESEARCH_PRICE,
        handler: async (req, ctx) => {
          const { topic, capability, hops } = parse(req.body) as { topic: string; capability: string; hops: number }
          // B asks for more than it was paid: the sub-contract lowers the budget to what A paid less the margin.
          const steps = Array.from({ length: hops }, (_, i) => ({
            id: `s${i}`,
            capability,
            input: i === 0 ? { $ref: '/input' } : { $ref: `/steps/s${i - 1}/output` },
            maxPrice: '1000000'
          }))
          const sub = await b.services.workflow.subcontract(
            { input: topic, budget: '5000000', steps },
            { paid: paidFor(ctx, RESEARCH_PRICE), signal: ctx.signal }
          )
          subcontracts.push(sub)
          if (sub.status !== 'completed') throw new Error(`sub-contract ${sub.status}`)
          return json(sub.steps[`s${hops - 1}`]?.output)
        }
      })
    )
  })

  afterAll(async () => {
    await a?.stop()
    await b?.stop()
    await c?.stop()
    await chain?.stop()
  })

  const research = (input: unknown) =>
    a.services.workflow.run({
      input,
      budget: RESEARCH_PRICE.toString(),
      steps: [{ id: 'r', capability: 'research', maxPrice: RESEARCH_PRICE.toString(), retry: { maxSellers: 1 } }]
    })

  it('spends within the payment: budget lowered to paid − margin', async () => {
    const before = { a: await chain.balance(wallet(1)), b: await chain.balance(wallet(0)) }
    const record = await research({ topic: 'agents', capability: 'summarize', hops: 1 })
    expect(record.status).toBe('completed')
    expect(record.steps.r?.output).toBe('summary of agents')
    const sub = subcontracts.at(-1)!
    expect(sub.budget).toBe('270000')
    expect(sub.parent).toEqual({ paid: RESEARCH_PRICE.toString(), marginBps: MARGIN_BPS })
    expect(BigInt(sub.spent)).toBe(150_000n)
    expect(await chain.balance(wallet(1))).toBe(before.a - RESEARCH_PRICE)
    expect(await chain.balance(wallet(0))).toBe(before.b + RESEARCH_PRICE - 150_000n)
  })

  it('never pays a seller above what the buyer paid: the call fails and the buyer is refunded', async () => {
    const before = {
      a: await chain.balance(wallet(1)),
      b: await chain.balance(wallet(0)),
      c: await chain.balance(wallet(2))
    }
    const record = await research({ topic: 'agents', capability: 'deep-summarize', hops: 1 })
    expect(record.status).toBe('failed')
    expect(record.steps.r?.attempts[0]?.state).toBe('refunded')
    const sub = subcontracts.at(-1)!
    expect(sub.status).toBe('failed')
    expect(sub.steps.s0?.attempts).toEqual([])
    expect(sub.spent).toBe('0')
    expect(await chain.balance(wallet(1))).toBe(before.a)
    expect(await chain.balance(wallet(2))).toBe(before.c)
    expect(await chain.balance(wallet(0))).toBe(before.b)
  })

  it('stops a chain of sub-purchases at the bound: the second hop is never paid', async () => {
    const before = await chain.balance(wallet(2))
    const record = await research({ topic: 'agents', capability: 'summarize', hops: 2 })
    expect(record.status).toBe('failed')
    const sub = subcontracts.at(-1)!
    expect(sub.steps.s0?.status).toBe('completed')
    expect(sub.steps.s1?.attempts).toEqual([])
    expect(sub.steps.s1?.error).toMatch(/no listing within 120000/)
    // B paid C once (150000 ≤ 270000) and refunded A: the agent bore its own loss, never more than A paid.
    expect(BigInt(sub.spent)).toBeLessThanOrEqual(270_000n)
    expect(await chain.balance(wallet(2))).toBe(before + 150_000n)
  })
})
