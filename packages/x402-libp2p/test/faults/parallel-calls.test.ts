import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { type FaultySeller, payJob, startBuyers, startFaultySeller, totalRuns } from './harness.ts'
import { assertMoneyInvariant, balances, type PaidCallLog } from './money.ts'

/**
 * Many parallel calls from one buyer to one seller (issue 10, case 7): calls beyond what a connection carries, or the
 * seller lets one payer have in progress, wait for their turn instead of failing — on a fresh connection and on a
 * warm one. Every call is paid once and delivered.
 */
describe('parallel paid calls over one connection', () => {
  let chain: Chain
  let seller: FaultySeller

  beforeAll(async () => {
    chain = await startChain(3)
    seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account)
  })
  afterAll(async () => {
    await seller?.stop()
    await chain?.stop()
  })

  async function burst(count: number, prefix: string): Promise<void> {
    const [buyer] = await startBuyers(chain, [chain.devnet.accounts[1]!.account], { reaskAttempts: 3 })
    try {
      const before = await balances(chain, [buyer!.account.address])
      const logs: PaidCallLog[] = await Promise.all(
        Array.from({ length: count }, (_, i) =>
          payJob(buyer!.node.services.x402Client, buyer!.account.address, seller, `${prefix}-${i}`, {
            retry: { deadlineMs: 0 } // no help from the test: the client alone must get every call through
          })
        )
      )
      expect(logs.filter((l) => l.error != null).map((l) => String(l.error))).toEqual([])
      expect(buyer!.node.getConnections(seller.node.peerId)).toHaveLength(1)
      await assertMoneyInvariant(chain, before, logs, { datastore: seller.datastore, settled: true })
    } finally {
      await buyer!.node.stop()
    }
  }

  it('80 concurrent calls on a fresh connection all succeed', { timeout: 120_000 }, async () => {
    await burst(80, 'fresh')
  })

  it('256 concurrent calls all succeed', { timeout: 180_000 }, async () => {
    const runs = totalRuns(seller.runs)
    await burst(256, 'many')
    expect(totalRuns(seller.runs) - runs).toBe(256)
  })
})
