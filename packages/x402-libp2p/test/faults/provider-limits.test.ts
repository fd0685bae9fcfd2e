import { createTestClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { type FaultySeller, payJob, startBuyers, startFaultySeller } from './harness.ts'
import { assertMoneyInvariant, balances } from './money.ts'
import { frontRunNext } from './payer-tricks.ts'

/**
 * RPC providers cap `eth_getLogs` ranges (500 blocks, or 10 on some free plans). Attributing a front-run settlement
 * needs the `AuthorizationUsed` log: the search narrows its window until the provider accepts it, so the payment is
 * still delivered — and the buyer's next call is not held up (found by review).
 */
describe('eth_getLogs range caps', () => {
  let chain: Chain
  const anvil = () =>
    createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })

  beforeAll(async () => {
    chain = await startChain(4)
    await anvil().mine({ blocks: 64 }) // history wider than the caps
  })
  afterAll(async () => {
    await anvil().setAutomine(true)
    await chain?.stop()
  })

  /** Refuses `eth_getLogs` ranges wider than `maxRange` blocks, the way the provider words it. */
  function capLogs(seller: FaultySeller, maxRange: bigint, message: string): void {
    seller.proxy.fault({
      method: 'eth_getLogs',
      times: 1_000_000,
      when: (params) => {
        const f = params[0] as { fromBlock?: string; toBlock?: string } | undefined
        if (f?.fromBlock == null || f.toBlock == null) return false
        return BigInt(f.toBlock) - BigInt(f.fromBlock) + 1n > maxRange
      },
      action: { kind: 'error', code: -32600, message }
    })
  }

  const caps: Array<[bigint, string]> = [
    [500n, 'You can make eth_getLogs requests with up to a 500 block range.'],
    [10n, 'Under the Free tier plan, you can make eth_getLogs requests with up to a 10 block range.']
  ]
  for (const [cap, message] of caps) {
    it(`a ${cap}-block cap: a front-run payment is attributed and delivered`, { timeout: 60_000 }, async () => {
      const seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
        server: { confirmationTimeoutMs: 2_000, resolveIntervalMs: 500 }
      })
      capLogs(seller, cap, message)
      const [buyer] = await startBuyers(chain, [chain.devnet.accounts[1]!.account], { reaskAttempts: 2 })
      try {
        const before = await balances(chain, [buyer!.account.address])
        await anvil().setAutomine(false)
        const copied = frontRunNext(chain, seller.node.services.x402Server, chain.devnet.accounts[3]!.account)
        const log = await payJob(buyer!.node.services.x402Client, buyer!.account.address, seller, `cap-${cap}`, {
          retry: { deadlineMs: 20_000 }
        })
        const copy = await copied
        expect(log.error).toBeUndefined()
        expect(log.result?.settlement?.transaction).toBe(copy)
        // The buyer's next ordinary call goes through at once.
        const next = await payJob(buyer!.node.services.x402Client, buyer!.account.address, seller, `cap-${cap}-next`, {
          retry: { deadlineMs: 0 }
        })
        expect(next.error).toBeUndefined()
        await assertMoneyInvariant(chain, before, [log, next], { datastore: seller.datastore, settled: true })
      } finally {
        await anvil().setAutomine(true)
        await buyer!.node.stop()
        await seller.stop()
      }
    })
  }
})
