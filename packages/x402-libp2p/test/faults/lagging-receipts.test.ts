import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ExecutionFailedError } from '../../src/index.ts'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { createNode, type X402Node } from '../fixtures/nodes.ts'
import { type FaultySeller, PRICE, startFaultySeller, text } from './harness.ts'
import { assertMoneyInvariant, balances, sellerRecords } from './money.ts'

/** How long the seller's RPC answers "no receipt" for a mined refund while already counting its nonce. */
const LAG_MS = 6_000

/**
 * A load-balanced RPC whose receipt index lags its nonce counts (found by a hostile review): the refund's nonce reads
 * as mined while its receipt reads `null`. A missing receipt is not proof the refund went unmined — only the block
 * holding its nonce is — so the refund is paid exactly once.
 */
describe('a refund over an RPC whose receipts lag behind its nonce counts', () => {
  let chain: Chain
  let seller: FaultySeller
  let buyer: X402Node

  beforeAll(async () => {
    chain = await startChain(3)
    seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, { server: { resolveIntervalMs: 200 } })
    seller.node.services.x402Server.register('boom', {
      price: { amount: PRICE },
      handler: () => {
        throw new Error('down')
      }
    })
    buyer = await createNode({
      client: { signer: chain.devnet.accounts[1]!.account, asset: chain.asset, publicClient: chain.client }
    })
  })
  afterAll(async () => {
    await buyer?.stop()
    await seller?.stop()
    await chain?.stop()
  })

  it('is paid once', { timeout: 60_000 }, async () => {
    const payer = chain.devnet.accounts[1]!.address
    const before = await balances(chain, [payer])
    // Every raw transaction after the settlement is the refund: hide its receipt for LAG_MS after it is sent.
    const hidden = new Map<string, number>()
    let sent = 0
    seller.node.services.x402Server.addEventListener('payment:submitted', (e) => {
      if (++sent >= 2) hidden.set(e.detail.transaction!.toLowerCase(), Date.now() + LAG_MS)
    })
    seller.proxy.fault({
      method: 'eth_getTransactionReceipt',
      action: { kind: 'answer', result: null },
      times: Number.MAX_SAFE_INTEGER,
      when: (params) => (hidden.get(String(params[0]).toLowerCase()) ?? 0) > Date.now()
    })
    let outcome: unknown
    for (let i = 0; i < 30 && !(outcome instanceof ExecutionFailedError); i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 500))
      outcome = await buyer.services.x402Client
        .call(seller.node.getMultiaddrs(), 'boom', text('x'), {
          correlationId: 'lagging',
          maxAmount: PRICE,
          payTo: seller.address
        })
        .catch((e: unknown) => e)
    }
    expect(seller.proxy.faultsApplied()).toBeGreaterThan(0)
    expect(outcome).toBeInstanceOf(ExecutionFailedError)
    const [record] = (await sellerRecords(seller.datastore)).filter((r) => r.correlationId === 'lagging')
    expect(record?.state).toBe('refunded')
    expect(record?.refund?.attempt.transactions).toHaveLength(1)
    await assertMoneyInvariant(chain, before, [], { datastore: seller.datastore, settled: true })
  })
})
