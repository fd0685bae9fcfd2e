import { MemoryDatastore } from 'datastore-core'
import { createTestClient, type Hash, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { X402Error } from '../../src/index.ts'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { createNode } from '../fixtures/nodes.ts'
import { connect, type FaultySeller, PRICE, startFaultySeller, str, text } from './harness.ts'
import { assertDeferredExposure, assertMoneyInvariant, balances, sellerRecords } from './money.ts'
import { freshAccount, inPool } from './payer-tricks.ts'

/**
 * A deferred call and its authorization's lifetime (issue 14 review): the seller answers on credit only while there is
 * time left to settle after — a handler still running `minSettleWindowSeconds` before `validBefore` has its call
 * settled first, and is answered once paid — and an authorization that expired because of the seller (its handler ran
 * long, it was down) never puts the payer in default: a default needs proof the payer made its transfer fail.
 */
describe('deferred settlement within the authorization window', () => {
  let chain: Chain
  const anvil = () =>
    createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })

  beforeAll(async () => {
    chain = await startChain(3)
  })
  afterAll(async () => {
    await anvil()
      .setAutomine(true)
      .catch(() => {})
    await chain?.stop()
  })

  /** A seller with a settlement window of 4 s and a deferred `slow` resource whose handler takes `handlerMs`. */
  async function seller(
    options: { datastore?: MemoryDatastore; handlerMs?: number; lingerMs?: number } = {}
  ): Promise<FaultySeller & { ran: string[] }> {
    const s = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
      settler: { batch: { minLingerMs: options.lingerMs ?? 20 } },
      server: { resolveIntervalMs: 200, minSettleWindowSeconds: 4 },
      ...(options.datastore != null ? { datastore: options.datastore } : {})
    })
    const ran: string[] = []
    s.node.services.x402Server.register('slow', {
      // An 8-second offer: the buyer signs validBefore = now + 8 s.
      price: { amount: PRICE, maxTimeoutSeconds: 8 },
      settlement: 'deferred',
      handler: async (req) => {
        ran.push(req.correlationId)
        await new Promise((resolve) => setTimeout(resolve, options.handlerMs ?? 0))
        return text(`slow:${str(req.body)}`)
      }
    })
    return Object.assign(s, { ran })
  }

  const buyerFor = (payer: Awaited<ReturnType<typeof freshAccount>>) =>
    createNode({
      client: { signer: payer, asset: chain.asset, reaskAttempts: 3, reaskDelayMs: 300, frameTimeoutMs: 30_000 }
    })

  it('a handler that outlives the authorization: the call is settled before it is answered — served, paid once, no default', {
    timeout: 60_000
  }, async () => {
    const s = await seller({ handlerMs: 9_000 })
    const payer = await freshAccount(chain, 3n * PRICE, chain.devnet.accounts[1]!.account)
    const buyer = await buyerFor(payer)
    const before = await balances(chain, [payer.address])
    try {
      const slow = await buyer.services.x402Client.call(s.node.getMultiaddrs(), 'slow', text('x'), {
        maxAmount: PRICE,
        payTo: s.address,
        correlationId: 'slow-1'
      })
      // Answered after its 9 s — past its validBefore — with a real settlement: it was paid first.
      expect(str(slow.body)).toBe('slow:x')
      expect(slow.deferred).not.toBe(true)
      expect(slow.settlement).toMatchObject({ success: true })
      const record = (await sellerRecords(s.datastore)).find((r) => r.correlationId === 'slow-1')
      expect([record?.state, record?.order]).toEqual(['done', 'before'])
      expect(s.ran).toEqual(['slow-1']) // the handler ran once
      // The payer is in good standing: its next deferred call is answered at once, on credit.
      s.node.services.x402Server.register('fast', {
        price: { amount: PRICE },
        settlement: 'deferred',
        handler: (r) => r.body
      })
      const fast = await buyer.services.x402Client.call(s.node.getMultiaddrs(), 'fast', text('y'), {
        maxAmount: PRICE,
        payTo: s.address,
        correlationId: 'fast-1'
      })
      expect(fast.deferred).toBe(true)
      for (let i = 0; i < 200 && (await sellerRecords(s.datastore)).some((r) => r.state !== 'done'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      await assertMoneyInvariant(
        chain,
        before,
        [slow, fast].map((result) => ({
          buyer: payer.address,
          correlationId: result.correlationId,
          price: PRICE,
          result,
          asks: 1
        })),
        { datastore: s.datastore, settled: true }
      )
    } finally {
      await buyer.stop()
      await s.stop()
    }
  })

  it('a deferred call the seller could not settle before validBefore (it was down) ends void — the payer is not in default', {
    timeout: 60_000
  }, async () => {
    const datastore = new MemoryDatastore()
    let s = await seller({ datastore, lingerMs: 200 })
    const payer = await freshAccount(chain, 3n * PRICE, chain.devnet.accounts[2]!.account)
    const buyer = await buyerFor(payer)
    const submitted: Hash[] = []
    s.node.services.x402Server.addEventListener('payment:submitted', (e) => submitted.push(e.detail.transaction!))
    try {
      await anvil().setAutomine(false)
      const answered = await buyer.services.x402Client.call(s.node.getMultiaddrs(), 'slow', text('z'), {
        maxAmount: PRICE,
        payTo: s.address,
        correlationId: 'down-1'
      })
      expect(answered.deferred).toBe(true)
      for (let i = 0; i < 500 && submitted.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
      await inPool(chain, submitted[0]!)
      // The seller goes down with its settlement unmined; the transaction is lost; the authorization expires.
      await s.stop()
      await anvil().dropTransaction({ hash: submitted[0]! })
      await anvil().increaseTime({ seconds: 30 })
      await anvil().mine({ blocks: 1 })
      await anvil().setAutomine(true)
      s = await seller({ datastore })
      await connect([buyer], s)
      for (let i = 0; i < 200 && (await sellerRecords(datastore))[0]?.state !== 'void'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      const record = (await sellerRecords(datastore))[0]
      expect([record?.state, record?.error?.details?.reason]).toEqual(['void', 'authorization_expired'])
      // Not the payer's doing: its next deferred call is served.
      const next = await buyer.services.x402Client
        .call(s.node.getMultiaddrs(), 'slow', text('w'), {
          maxAmount: PRICE,
          payTo: s.address,
          correlationId: 'down-2'
        })
        .then(
          (r) => str(r.body),
          (err: unknown) => (err instanceof X402Error ? `${err.codeName}:${String(err.details?.reason)}` : String(err))
        )
      expect(next).toBe('slow:w')
      // (Delivered unpaid: down-1, and down-2 as long as it is not settled — the chain's clock is 30 s ahead now.)
      await assertDeferredExposure(chain, datastore, payer.address, 2n * PRICE)
      await assertMoneyInvariant(chain, new Map(), [], { datastore })
    } finally {
      await anvil().setAutomine(true)
      await buyer.stop()
      await s.stop()
    }
  })
})
