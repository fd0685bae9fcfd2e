import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WireMessage } from '../../src/wire.ts'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { createNode, type X402Node } from '../fixtures/nodes.ts'
import { type FaultySeller, PRICE, startBuyers, startFaultySeller, str, text } from './harness.ts'
import { assertMoneyInvariant, balances, callUntilOutcome, type PaidCallLog, resultOf } from './money.ts'
import { challengeAndSign, rawExchange } from './raw.ts'
import type { FaultRule } from './rpc-proxy.ts'

/**
 * Issue case 6: an RPC failure while the seller verifies a payment is the seller's infrastructure, not the buyer's
 * fault. It is answered with the retryable SERVICE_UNAVAILABLE (5000), nothing is reserved, and the 2-trip challenge
 * is not consumed: the same PAID_REQUEST succeeds once the chain answers again.
 */
let chain: Chain
let seller: FaultySeller
let dialer: X402Node

beforeAll(async () => {
  chain = await startChain(4)
  seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account)
  dialer = await createNode()
})
afterAll(async () => {
  await dialer?.stop()
  await seller?.stop()
  await chain?.stop()
})

const exchange = (frames: WireMessage[]) => rawExchange(dialer, seller.node, frames)

/** REQUEST → PAYMENT_REQUIRED, then a PAID_REQUEST signed by `payerIndex` for the challenge (not yet sent). */
async function challengeAndPay(correlationId: string, payerIndex: number): Promise<WireMessage> {
  return (await challengeAndSign(dialer, seller.node, correlationId, chain.devnet.accounts[payerIndex]!.account)).paid
}

const faults: Array<[string, FaultRule]> = [
  ['the settlement simulation (eth_call) is refused', { method: 'eth_call', action: { kind: 'refuse' } }],
  [
    "the payer's code lookup answers an internal error",
    { method: 'eth_getCode', action: { kind: 'error', code: -32603, message: 'internal error' } }
  ],
  ['the fee lookup loses its answer', { method: 'eth_getBlockByNumber', action: { kind: 'lose', how: 'reset' } }],
  [
    'the node is rate limited',
    { method: 'eth_call', action: { kind: 'error', code: -32005, message: 'limit exceeded' } }
  ]
]

describe('an RPC failure during verification', () => {
  faults.forEach(([name, rule], i) => {
    it(`${name}: SERVICE_UNAVAILABLE, retryable; the same PAID_REQUEST then succeeds`, async () => {
      const payerIndex = 1 + (i % 3)
      const payer = chain.devnet.accounts[payerIndex]!.address
      const before = await balances(chain, [payer])
      const correlationId = `verify-fault-${i}`
      const paid = await challengeAndPay(correlationId, payerIndex)
      // Fees are cached for a second and a payer's code for a minute (each case uses a payer new to its lookup).
      await new Promise((resolve) => setTimeout(resolve, 1_100))
      const applied = seller.proxy.faultsApplied()
      seller.proxy.heal()
      seller.proxy.fault(rule)
      const [first] = await exchange([paid])
      expect(seller.proxy.faultsApplied(), 'the fault hit the verification').toBe(applied + 1)
      if (first?.type !== 'ERROR') throw new Error(`expected ERROR, got ${first?.type}`)
      expect(first.error).toMatchObject({ code: 5000, name: 'SERVICE_UNAVAILABLE', retryable: true })
      expect(first.error.message).not.toMatch(/\/home|\/work|node_modules|at .*\.ts:/)
      expect(seller.node.services.x402Server.stats().pendingCalls).toBe(0)

      const [second] = await exchange([paid])
      if (second?.type !== 'RESPONSE') throw new Error(`expected RESPONSE, got ${second?.type}`)
      expect(str(second.response.body)).toBe(`done:${correlationId}`)
      const log: PaidCallLog = { buyer: payer, correlationId, price: PRICE, asks: 2, result: resultOf(second) }
      await assertMoneyInvariant(chain, before, [log], { datastore: seller.datastore })
    })
  })

  it('the x402 client re-sends the same payment after SERVICE_UNAVAILABLE and gets the result', async () => {
    const [buyer] = await startBuyers(chain, [chain.devnet.accounts[2]!.account], { reaskAttempts: 3 })
    try {
      seller.proxy.heal()
      const applied = seller.proxy.faultsApplied()
      seller.proxy.fault({ method: 'eth_call', times: 2, action: { kind: 'refuse' } })
      const before = await balances(chain, [buyer!.account.address])
      const log = await callUntilOutcome(
        buyer!.node.services.x402Client,
        buyer!.account.address,
        seller.node.getMultiaddrs(),
        'job',
        text('retry'),
        { maxAmount: PRICE, payTo: seller.address, correlationId: 'client-retry-1' },
        { deadlineMs: 0 } // no re-ask by the test: the client's own retries must do it
      )
      expect(log.error).toBeUndefined()
      expect(log.asks).toBe(1)
      expect(seller.proxy.faultsApplied()).toBe(applied + 2)
      await assertMoneyInvariant(chain, before, [log], { datastore: seller.datastore })
    } finally {
      await buyer!.node.stop()
    }
  })
})
