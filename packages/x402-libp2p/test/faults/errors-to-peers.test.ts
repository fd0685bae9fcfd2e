import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ExecutionFailedError, type X402Error } from '../../src/index.ts'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { type FaultySeller, PRICE, payJob, startBuyers, startFaultySeller } from './harness.ts'
import { assertMoneyInvariant, balances } from './money.ts'

/**
 * Errors sent to peers never carry local paths, hosts or stack traces (spec §10.4): a handler's own error message, or
 * the text of an RPC failure, stays in the seller's log.
 */
describe('what a failing seller tells the buyer', () => {
  let chain: Chain
  let seller: FaultySeller

  beforeAll(async () => {
    chain = await startChain(3)
    seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account)
    seller.node.services.x402Server.register('leaky', {
      price: { amount: PRICE },
      handler: () => {
        throw new Error("ENOENT: no such file or directory, open '/srv/seller/secrets/openai-key.json'")
      }
    })
  })
  afterAll(async () => {
    await seller?.stop()
    await chain?.stop()
  })

  const leaks = /\/srv|\/home|\/work|secrets|node_modules|127\.0\.0\.1|localhost|https?:\/\/|at .*\.ts:\d+/

  it('EXECUTION_FAILED names the error class, not its message (and the payment is refunded)', async () => {
    const [buyer] = await startBuyers(chain, [chain.devnet.accounts[1]!.account], { reaskAttempts: 0 })
    try {
      const before = await balances(chain, [buyer!.account.address])
      const err = await buyer!.node.services.x402Client
        .call(seller.node.getMultiaddrs(), 'leaky', new Uint8Array(), { maxAmount: PRICE, payTo: seller.address })
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ExecutionFailedError)
      expect(err).toMatchObject({ codeName: 'EXECUTION_FAILED', charged: true })
      expect((err as ExecutionFailedError).message).toMatch(
        /^paid call failed in the handler \(Error\); refunded in 0x[0-9a-f]{64}$/
      )
      expect((err as ExecutionFailedError).message).not.toMatch(leaks)
      await assertMoneyInvariant(chain, before, [])
    } finally {
      await buyer!.node.stop()
    }
  })

  it('SERVICE_UNAVAILABLE does not repeat the RPC failure (endpoints can carry API keys)', async () => {
    const [buyer] = await startBuyers(chain, [chain.devnet.accounts[2]!.account], { reaskAttempts: 0 })
    try {
      const before = await balances(chain, [buyer!.account.address])
      seller.proxy.fault({
        method: 'eth_call',
        action: { kind: 'error', code: -32603, message: `upstream ${seller.proxy.url} failed` }
      })
      const log = await payJob(buyer!.node.services.x402Client, buyer!.account.address, seller, 'rpc-down', {
        retry: { deadlineMs: 0 }
      })
      expect(log.error).toMatchObject({ codeName: 'SERVICE_UNAVAILABLE' })
      expect((log.error as X402Error).message).not.toMatch(leaks)
      await assertMoneyInvariant(chain, before, [log], { datastore: seller.datastore })
    } finally {
      await buyer!.node.stop()
    }
  })
})
