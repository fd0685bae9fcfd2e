import { MemoryDatastore } from 'datastore-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BudgetExceededError,
  type CallJournal,
  datastoreCallJournal,
  ExecutionFailedError,
  PaymentNotApprovedError,
  PaymentTakenError
} from '../../src/index.ts'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { createNode, type X402Node } from '../fixtures/nodes.ts'
import { PRICE, text } from './harness.ts'
import { type HostileSeller, startHostileSeller } from './hostile-seller.ts'
import { transferAway } from './payer-tricks.ts'

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

  describe('lying about refunds (hostile review)', () => {
    const payer = () => chain.devnet.accounts[1]!
    async function journaledBuyer(journal: CallJournal): Promise<X402Node> {
      return createNode({
        client: {
          signer: payer().account,
          asset: chain.asset,
          budget: { limit: 10n * PRICE },
          reaskAttempts: 0,
          publicClient: chain.client,
          verifyTimeoutMs: 2_000,
          journal
        }
      })
    }
    const ask = (node: X402Node, seller: HostileSeller, correlationId: string) =>
      node.services.x402Client
        .call(seller.node.getMultiaddrs(), 'job', text('x'), { maxAmount: PRICE, payTo: seller.payTo, correlationId })
        .catch((e: unknown) => e)

    it.each([
      ['an unrelated transfer to the buyer (a top-up from someone else)', 'cite-refund'],
      ['its own plain transfer back, not naming the call', 'unbound-refund']
    ] as const)(
      "a refund that is %s is not taken as this call's refund: the buyer stays charged",
      {
        timeout: 30_000
      },
      async (_, lie) => {
        const seller = await startHostileSeller(chain, chain.devnet.accounts[0]!.account, lie, PRICE)
        const journal = datastoreCallJournal(new MemoryDatastore())
        const node = await journaledBuyer(journal)
        try {
          // A transfer of the same amount to the buyer, from a third party, after the settlement would be mined.
          const topUp = await transferAway(chain, chain.devnet.accounts[2]!.account, payer().address, PRICE, false)
          seller.cite = () => topUp
          const err = await ask(node, seller, `lie-${lie}`)
          expect(err).toBeInstanceOf(ExecutionFailedError)
          expect(err).toMatchObject({ charged: true, refund: { check: 'unconfirmed' } })
          expect(await journal.get(`lie-${lie}`)).toMatchObject({ state: 'failed', charged: true })
          expect(node.services.x402Client.budgetRemaining()).toBe(9n * PRICE) // the amount stays spent
        } finally {
          await Promise.all([node.stop(), seller.stop()])
        }
      }
    )

    it('"charged: false", then settles anyway: the journal turns to charged once the chain shows the transfer', {
      timeout: 30_000
    }, async () => {
      const seller = await startHostileSeller(
        chain,
        chain.devnet.accounts[0]!.account,
        'charged-false-then-settle',
        PRICE
      )
      const journal = datastoreCallJournal(new MemoryDatastore())
      const node = await journaledBuyer(journal)
      try {
        const err = await ask(node, seller, 'lie-not-charged')
        expect(err).toMatchObject({ charged: false })
        await expect
          .poll(async () => (await journal.get('lie-not-charged'))?.charged, { timeout: 20_000, interval: 250 })
          .toBe(true)
        expect(await journal.get('lie-not-charged')).toMatchObject({
          state: 'failed',
          error: { name: 'PaymentTakenError' },
          settlement: { transaction: seller.settled[0] }
        })
        expect(node.services.x402Client.budgetRemaining()).toBe(9n * PRICE)
      } finally {
        await Promise.all([node.stop(), seller.stop()])
      }
    })
  })
})
