import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BudgetExceededError, PaymentNotApprovedError, PaymentTakenError } from '../../src/index.ts'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { createNode, type X402Node } from '../fixtures/nodes.ts'
import { PRICE, text } from './harness.ts'
import { startHostileSeller } from './hostile-seller.ts'

/**
 * A buyer against sellers that lie (issue 10, case 6): the buyer's own chain reader decides whether money moved. A
 * made-up settlement is not taken as paid, a wrong transaction hash is replaced by the real one, a seller that settles
 * and then claims failure is caught (and the budget holds), an offer above the advertised price is refused unsigned.
 */
describe('a buyer against a hostile seller', () => {
  let chain: Chain

  beforeAll(async () => {
    chain = await startChain(4, { blockTime: 1 }) // blocks keep coming: chain time passes validBefore
  })
  afterAll(async () => {
    await chain?.stop()
  })

  async function buyer(budget: bigint, verify = true): Promise<X402Node> {
    return createNode({
      client: {
        signer: chain.devnet.accounts[1]!.account,
        asset: chain.asset,
        budget: { limit: budget },
        reaskAttempts: 0,
        ...(verify ? { publicClient: chain.client, verifyTimeoutMs: 3_000 } : {})
      }
    })
  }

  it('a made-up settlement: the result is unconfirmed, nothing is charged, the budget comes back once it lapses', {
    timeout: 60_000
  }, async () => {
    const seller = await startHostileSeller(chain, chain.devnet.accounts[0]!.account, 'fake-hash', PRICE, 8)
    const node = await buyer(3n * PRICE)
    try {
      const before = await chain.balance(chain.devnet.accounts[1]!.address)
      const r = await node.services.x402Client.call(seller.node.getMultiaddrs(), 'job', text('x'), {
        maxAmount: PRICE,
        payTo: seller.payTo
      })
      expect(r.settlementCheck).toBe('unconfirmed')
      expect(r.settlement).toBeUndefined()
      expect(await chain.balance(chain.devnet.accounts[1]!.address)).toBe(before)
      // The seller still holds a valid authorization until validBefore: its amount stays reserved until then.
      expect(node.services.x402Client.budgetRemaining()).toBe(2n * PRICE)
      await expect
        .poll(() => node.services.x402Client.budgetRemaining(), { timeout: 30_000, interval: 500 })
        .toBe(3n * PRICE)
    } finally {
      await Promise.all([node.stop(), seller.stop()])
    }
  })

  it('a wrong transaction hash is replaced by the transaction that paid', { timeout: 30_000 }, async () => {
    const seller = await startHostileSeller(chain, chain.devnet.accounts[0]!.account, 'wrong-hash', PRICE)
    const node = await buyer(3n * PRICE)
    try {
      const r = await node.services.x402Client.call(seller.node.getMultiaddrs(), 'job', text('x'), {
        maxAmount: PRICE,
        payTo: seller.payTo
      })
      expect(r.settlementCheck).toBe('verified')
      expect(r.settlement?.transaction).toBe(seller.settled[0])
    } finally {
      await Promise.all([node.stop(), seller.stop()])
    }
  })

  it('settles, then claims SETTLEMENT_FAILED: PaymentTakenError, and the budget holds (charged once, not 3×)', {
    timeout: 30_000
  }, async () => {
    const seller = await startHostileSeller(chain, chain.devnet.accounts[0]!.account, 'settle-then-fail', PRICE)
    const node = await buyer(PRICE)
    try {
      const before = await chain.balance(chain.devnet.accounts[1]!.address)
      const errors: unknown[] = []
      for (let i = 0; i < 3; i++) {
        errors.push(
          await node.services.x402Client
            .call(seller.node.getMultiaddrs(), 'job', text('x'), { maxAmount: PRICE, payTo: seller.payTo })
            .catch((e: unknown) => e)
        )
      }
      expect(errors[0]).toBeInstanceOf(PaymentTakenError)
      expect((errors[0] as PaymentTakenError).settlement.transaction).toBe(seller.settled[0])
      expect((errors[0] as PaymentTakenError).cause).toMatchObject({ codeName: 'SETTLEMENT_FAILED' })
      expect(errors.slice(1).every((e) => e instanceof BudgetExceededError)).toBe(true) // refused before signing
      expect(seller.settled).toHaveLength(1)
      expect(await chain.balance(chain.devnet.accounts[1]!.address)).toBe(before - PRICE)
      expect(node.services.x402Client.budgetRemaining()).toBe(0n)
    } finally {
      await Promise.all([node.stop(), seller.stop()])
    }
  })

  it('asks above its advertised price: refused before anything is signed', async () => {
    const seller = await startHostileSeller(chain, chain.devnet.accounts[0]!.account, 'over-price', PRICE)
    const node = await buyer(3n * PRICE)
    let signed = 0
    node.services.x402Client.addEventListener('payment:signed', () => signed++)
    try {
      const err = await node.services.x402Client
        .call(seller.node.getMultiaddrs(), 'job', text('x'), { maxAmount: PRICE, payTo: seller.payTo })
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(PaymentNotApprovedError)
      expect(signed).toBe(0)
      expect(node.services.x402Client.budgetRemaining()).toBe(3n * PRICE)
    } finally {
      await Promise.all([node.stop(), seller.stop()])
    }
  })

  it('without a chain reader the seller’s word is marked unchecked', { timeout: 30_000 }, async () => {
    const seller = await startHostileSeller(chain, chain.devnet.accounts[0]!.account, 'fake-hash', PRICE)
    const node = await buyer(3n * PRICE, false)
    try {
      const r = await node.services.x402Client.call(seller.node.getMultiaddrs(), 'job', text('x'), {
        maxAmount: PRICE,
        payTo: seller.payTo
      })
      expect(r.settlementCheck).toBe('unchecked')
    } finally {
      await Promise.all([node.stop(), seller.stop()])
    }
  })
})
