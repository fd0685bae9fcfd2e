import { createTestClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { type FaultySeller, payJob, startBuyers, startFaultySeller, str } from './harness.ts'
import { assertMoneyInvariant, balances } from './money.ts'
import { frontRunNext } from './payer-tricks.ts'

/**
 * Issue case 5: a third party copies the seller's `transferWithAuthorization` from the mempool and gets it mined first.
 * The money reaches the payee; the seller's own transaction reverts ("authorization is used"). The transfer counts as
 * the payment — whoever submitted it — so the handler runs, the buyer gets the result, charged once, and the payer is
 * not throttled (the seller was paid).
 */
describe('a front-run settlement', () => {
  let chain: Chain
  let seller: FaultySeller

  beforeAll(async () => {
    chain = await startChain(4)
    seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account)
  })
  afterAll(async () => {
    await seller?.stop()
    await chain?.stop()
  })

  it("counts the front-runner's transfer as the payment and delivers the result", { timeout: 60_000 }, async () => {
    const test = createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })
    await test.setAutomine(false) // blocks only when the test mines them

    const copied = frontRunNext(chain, seller.node.services.x402Server, chain.devnet.accounts[3]!.account)

    const buyer = (await startBuyers(chain, [chain.devnet.accounts[1]!.account], { reaskAttempts: 2 }))[0]!
    try {
      const before = await balances(chain, [buyer.account.address])
      const log = await payJob(buyer.node.services.x402Client, buyer.account.address, seller, 'front-run-1', {
        body: 'race',
        retry: { deadlineMs: 30_000 }
      })
      const copy = await copied
      expect(log.error).toBeUndefined()
      expect(str(log.result!.body)).toBe('done:race')
      expect(log.result!.settlement!.transaction).toBe(copy) // the front-runner's transaction paid
      const ours = (await chain.client.getBlock({ includeTransactions: true })).transactions.find(
        (t) => t.from.toLowerCase() === seller.address.toLowerCase()
      )
      expect(ours, "the seller's own transaction was mined too").toBeDefined()
      expect((await chain.client.getTransactionReceipt({ hash: ours!.hash })).status).toBe('reverted')
      expect(seller.runs.get('front-run-1')).toBe(1)
      await assertMoneyInvariant(chain, before, [log], { datastore: seller.datastore, settled: true })

      // The seller was paid, so the payer is not throttled: its next call goes through.
      await test.setAutomine(true)
      const next = await payJob(buyer.node.services.x402Client, buyer.account.address, seller, 'front-run-2', {
        body: 'again'
      })
      expect(next.error).toBeUndefined()
      await assertMoneyInvariant(chain, before, [log, next], { datastore: seller.datastore, settled: true })
    } finally {
      await test.setAutomine(true)
      await buyer.node.stop()
    }
  })
})
