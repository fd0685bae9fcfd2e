import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { LevelDatastore } from 'datastore-level'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyWorkflowReceipt } from '../src/index.ts'
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

const PRICE = 40_000n

/**
 * A seller stops after the step's payment settled and before it answers: the step is left `unresolved` (paid, no
 * outcome) and the workflow fails without trying another seller. Once the seller is back (new port, same key and
 * records), `resume` re-asks the same call at its new address: the result arrives, paid once.
 */
describe('a seller crashing after settlement', () => {
  let chain: Chain
  let dir: string
  let key: PrivateKey
  let buyer: BuyerNode
  const market = new StaticListings()
  const hang = { first: true }
  let handlerRuns = 0

  const startSeller = async (): Promise<{ node: SellerNode; datastore: LevelDatastore }> => {
    const datastore = new LevelDatastore(join(dir, 'seller'))
    await datastore.open()
    const node = await createSeller(chain, chain.devnet.accounts[0]!, { datastore, privateKey: key })
    market.add(
      sell(node, chain, chain.devnet.accounts[0]!.address, {
        id: 'slow',
        capability: 'slow',
        price: PRICE,
        handler: async (req, { signal }) => {
          handlerRuns++
          if (hang.first) {
            hang.first = false
            await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
          }
          return json(`done:${parse(req.body) as string}`)
        }
      })
    )
    return { node, datastore }
  }

  beforeAll(async () => {
    chain = await startChain(3)
    dir = await mkdtemp(join(tmpdir(), 'betar-workflow-seller-'))
    key = await generateKeyPair('Ed25519')
    buyer = await createBuyer(chain, chain.devnet.accounts[1]!, market)
  })
  afterAll(async () => {
    await buyer?.stop()
    await chain?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('leaves the step unresolved, never pays another seller, and resumes it without paying again', async () => {
    const buyerWallet = chain.devnet.accounts[1]!.address
    const sellerWallet = chain.devnet.accounts[0]!.address
    const before = { buyer: await chain.balance(buyerWallet), seller: await chain.balance(sellerWallet) }
    let seller = await startSeller()
    const settled = new Promise((resolve) =>
      seller.node.services.x402Server.addEventListener('payment:settled', resolve, { once: true })
    )
    await buyer.services.workflow.submit(
      { input: 'job', budget: PRICE.toString(), steps: [{ id: 's', capability: 'slow', maxPrice: PRICE.toString() }] },
      { id: 'seller-crash' }
    )
    await settled
    await seller.node.stop()
    await seller.datastore.close()

    const failed = await buyer.services.workflow.wait('seller-crash')
    expect(failed.status).toBe('failed')
    expect(failed.steps.s?.status).toBe('unresolved')
    expect(failed.steps.s?.attempts).toHaveLength(1)
    expect(failed.steps.s?.attempts[0]?.state).toBe('interrupted')
    expect(await chain.balance(buyerWallet)).toBe(before.buyer - PRICE)

    seller = await startSeller()
    try {
      const record = await buyer.services.workflow.resume('seller-crash')
      expect(record.status, JSON.stringify(record.steps, null, 1)).toBe('completed')
      expect(record.steps.s?.output).toBe('done:job')
      expect(record.steps.s?.attempts.map((a) => a.correlationId)).toEqual(
        failed.steps.s?.attempts.map((a) => a.correlationId)
      )
      expect(record.spent).toBe(PRICE.toString())
      expect(await chain.balance(buyerWallet)).toBe(before.buyer - PRICE)
      expect(await chain.balance(sellerWallet)).toBe(before.seller + PRICE)
      expect(handlerRuns).toBe(2)
      const check = await verifyWorkflowReceipt(await buyer.services.workflow.receipt('seller-crash'), chain.client)
      expect(check).toEqual({ ok: true, issues: [], spent: PRICE })
    } finally {
      await seller.node.stop()
      await seller.datastore.close()
    }
  })
})
