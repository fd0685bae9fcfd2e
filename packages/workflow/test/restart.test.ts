import type { Listing } from '@betar/marketplace-crdt'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryDatastore } from 'datastore-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WorkflowStore } from '../src/store.ts'
import {
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

/**
 * A buyer node stopped (not killed) while a paid step is in the seller's handler leaves the workflow `running`; the
 * node started again on the same datastore and key resumes it: the step is re-asked, not paid again.
 */
describe('a workflow survives a node stop and start', () => {
  let chain: Chain
  let seller: SellerNode
  const market = new StaticListings()
  const runs = { a: 0, b: 0 }
  let entered: () => void = () => {}
  let release: () => void = () => {}
  const bEntered = new Promise<void>((r) => {
    entered = r
  })
  const gate = new Promise<void>((r) => {
    release = r
  })

  beforeAll(async () => {
    chain = await startChain(3)
    seller = await createSeller(chain, chain.devnet.accounts[0]!)
    const payTo = chain.devnet.accounts[0]!.address
    const listings: Listing[] = [
      sell(seller, chain, payTo, {
        id: 'a',
        capability: 'step-a',
        price: 10_000n,
        handler: (req) => {
          runs.a++
          return json(`${parse(req.body) as string}+a`)
        }
      }),
      sell(seller, chain, payTo, {
        id: 'b',
        capability: 'step-b',
        price: 20_000n,
        handler: async (req) => {
          runs.b++
          entered()
          await gate
          return json(`${parse(req.body) as string}+b`)
        }
      })
    ]
    for (const l of listings) market.add(l)
  })
  afterAll(async () => {
    await seller?.stop()
    await chain?.stop()
  })

  it('resumes on start and pays each step once', async () => {
    const datastore = new MemoryDatastore()
    const privateKey = await generateKeyPair('Ed25519')
    const account = chain.devnet.accounts[1]!
    const before = await chain.balance(account.address)
    const first = await createBuyer(chain, account, market, { datastore, privateKey })
    await first.services.workflow.submit(
      {
        input: 'x',
        budget: '30000',
        steps: [
          { id: 'a', capability: 'step-a', maxPrice: '10000' },
          { id: 'b', capability: 'step-b', input: { $ref: '/steps/a/output' }, maxPrice: '20000' }
        ]
      },
      { id: 'survivor' }
    )
    await bEntered
    await first.stop()
    const stopped = await new WorkflowStore(datastore).get('survivor')
    expect(stopped?.status).toBe('running')
    expect(stopped?.steps.b?.status).toBe('running')
    expect(stopped?.steps.b?.attempts).toHaveLength(1)
    release()

    const second = await createBuyer(chain, account, market, { datastore, privateKey })
    try {
      let record = await second.services.workflow.get('survivor')
      for (let i = 0; i < 300 && record?.status === 'running'; i++) {
        await new Promise((r) => setTimeout(r, 100))
        record = await second.services.workflow.get('survivor')
      }
      expect(record?.status).toBe('completed')
      expect(record?.steps.b?.output).toBe('x+a+b')
      expect(record?.steps.b?.attempts.map((a) => a.correlationId)).toEqual(
        stopped?.steps.b?.attempts.map((a) => a.correlationId)
      )
      expect(runs).toEqual({ a: 1, b: 1 })
      expect(record?.spent).toBe('30000')
      expect(await chain.balance(account.address)).toBe(before - 30_000n)
      // An ended workflow does not run again.
      await expect(second.services.workflow.resume('survivor')).rejects.toHaveProperty('name', 'WorkflowStateError')
    } finally {
      await second.stop()
    }
  })
})
