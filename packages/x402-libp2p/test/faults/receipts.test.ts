import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { type FaultySeller, payJob, startBuyers, startFaultySeller, str } from './harness.ts'
import { assertMoneyInvariant, balances } from './money.ts'

/**
 * Issue case 2: on a chain with real blocks (1 s), receipt polls fail while the settlement waits for inclusion. A failed
 * poll never loses the transaction hash (it was persisted before the broadcast): the settlement is never started again,
 * the buyer's re-ask gets the result once the transfer is mined, and the buyer is charged once.
 */
describe('receipt polls that fail on a chain with 1-second blocks', () => {
  let chain: Chain
  let seller: FaultySeller

  beforeAll(async () => {
    chain = await startChain(3, { blockTime: 1 })
    seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
      // The first answer comes before the receipt can be read: the buyer re-asks while the transfer is pending.
      server: { confirmationTimeoutMs: 300 }
    })
  })
  afterAll(async () => {
    await seller?.stop()
    await chain?.stop()
  })

  it('settles once and delivers the result; nothing is broadcast twice', { timeout: 60_000 }, async () => {
    // Every receipt read fails for 2.5 s — HTTP 502s, then JSON-RPC internal errors — while blocks keep coming: the
    // block watcher's reads of each block's receipts and any direct receipt request alike.
    for (const method of ['eth_getBlockReceipts', 'eth_getTransactionReceipt']) {
      seller.proxy.fault({ method, times: 1_000_000, action: { kind: 'refuse' } })
      seller.proxy.fault({
        method,
        times: 1_000_000,
        action: { kind: 'error', code: -32603, message: 'internal error' }
      })
    }
    const healed = setTimeout(() => seller.proxy.heal(), 2_500)
    const [buyer] = await startBuyers(chain, [chain.devnet.accounts[1]!.account], { reaskAttempts: 0 })
    try {
      const before = await balances(chain, [buyer!.account.address])
      const log = await payJob(buyer!.node.services.x402Client, buyer!.account.address, seller, 'receipt-faults-1', {
        body: 'blocks',
        retry: { deadlineMs: 30_000, pauseMs: 500 }
      })
      expect(log.error).toBeUndefined()
      expect(str(log.result!.body)).toBe('done:blocks')
      expect(log.asks).toBeGreaterThan(1) // answered SETTLEMENT_PENDING first, then the result on a re-ask
      // Receipt reads failed meanwhile (fewer than before: one read per block through the watcher, not a poll per call
      // every few ms; re-asks read the receipt once, then the authorization's state and logs).
      expect(seller.proxy.faultsApplied()).toBeGreaterThanOrEqual(3)
      expect(seller.proxy.count('eth_sendRawTransaction')).toBe(1)
      expect(seller.runs.get('receipt-faults-1')).toBe(1)
      await assertMoneyInvariant(chain, before, [log], { datastore: seller.datastore, settled: true })
    } finally {
      clearTimeout(healed)
      await buyer!.node.stop()
    }
  })
})
