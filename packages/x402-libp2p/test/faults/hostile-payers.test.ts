import { type FacilitatorServer, startDevnetFacilitator } from '@betar/devnet'
import { MemoryDatastore } from 'datastore-core'
import { createTestClient, type Hash, type Hex, http, type LocalAccount } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { facilitatorSettler } from '../../src/index.ts'
import type { WireMessage } from '../../src/wire.ts'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { createNode, type X402Node } from '../fixtures/nodes.ts'
import { type FaultySeller, PRICE, startFaultySeller, text } from './harness.ts'
import { assertMoneyInvariant, sellerRecords } from './money.ts'
import {
  bundleOnePaymentForMany,
  cancelAuthorization,
  deployBatch,
  freshAccount,
  inPool,
  spendNonceElsewhere,
  transferAway
} from './payer-tricks.ts'
import { challengeAndSign, rawExchange } from './raw.ts'

/**
 * Payers that spend their own authorization's nonce before the seller's settlement lands (found by review):
 * - one transaction spends several calls' nonces on tiny transfers and pays the seller once: a transfer counts for
 *   a call only if **that call's** authorization made it (its `AuthorizationUsed` log followed by its `Transfer`);
 * - the nonce spent on another authorization of the payer, or cancelled: the call is void (nothing moved for it, and
 *   nothing can), never left pending, and the payer is throttled after the seller's one reverted transaction;
 * - several settlements of a fresh payer in flight at once could all be made to revert by one transfer of its balance
 *   away: a payer without confirmed payments has one settlement in flight at a time.
 */
let chain: Chain
let dialer: X402Node
const test = () => createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })

beforeAll(async () => {
  chain = await startChain(6)
  dialer = await createNode()
})
afterAll(async () => {
  await dialer?.stop()
  await chain?.stop()
})
afterEach(async () => {
  await test().setIntervalMining({ interval: 0 })
  await test().setAutomine(true)
})

/** A seller whose `job` authorizations lapse `seconds` after signing, so void outcomes come quickly. */
async function shortLivedSeller(seconds = 9): Promise<FaultySeller> {
  const seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
    server: { confirmationTimeoutMs: 2_000, resolveIntervalMs: 500, minSettleWindowSeconds: 3 }
  })
  seller.node.services.x402Server.unregister('job')
  seller.node.services.x402Server.register('job', {
    price: { amount: PRICE, maxTimeoutSeconds: seconds },
    handler: (req) => {
      seller.runs.set(req.correlationId, (seller.runs.get(req.correlationId) ?? 0) + 1)
      return text('served')
    }
  })
  return seller
}

/** A fresh payer with `usdc` and ETH. */
const freshPayer = (usdc: bigint): Promise<LocalAccount> => freshAccount(chain, usdc, chain.devnet.accounts[5]!.account)

/** Every seller settlement transaction (hashes the node answered), with its receipt. */
async function sellerTransactions(seller: FaultySeller) {
  const hashes = [
    ...new Set(seller.proxy.calls.flatMap((c) => (typeof c.result === 'string' ? [c.result as Hash] : [])))
  ]
  return Promise.all(hashes.map((hash) => chain.client.getTransactionReceipt({ hash })))
}

/**
 * Sends `paid` while `sabotage` (the payer's own transaction, with a higher tip) waits in the pool; mines one block
 * once the seller's settlement is in the pool too. Blocks then come every second (chain time passes validBefore).
 */
async function sabotaged(seller: FaultySeller, paid: WireMessage, sabotage: () => Promise<Hash>): Promise<WireMessage> {
  await test().setAutomine(false)
  await inPool(chain, await sabotage())
  const mined = new Promise<void>((resolve) => {
    const onSubmitted = (event: CustomEvent<{ transaction?: Hex; correlationId: string }>): void => {
      if (event.detail.correlationId !== paid.correlationId) return
      seller.node.services.x402Server.removeEventListener('payment:submitted', onSubmitted as never)
      void inPool(chain, event.detail.transaction!)
        .then(() => test().mine({ blocks: 1 }))
        .then(() => test().setIntervalMining({ interval: 1 }))
        .then(resolve)
    }
    seller.node.services.x402Server.addEventListener('payment:submitted', onSubmitted as never)
  })
  const [answer] = await rawExchange(dialer, seller.node, [paid])
  // Only a payment that was reserved and broadcast is sabotaged; anything refused earlier fails here, not by a hang.
  if (answer?.type !== 'ERROR' || !['SETTLEMENT_PENDING', 'SETTLEMENT_FAILED'].includes(answer.error.name)) {
    throw new Error(
      `expected a broadcast settlement, got ${answer?.type === 'ERROR' ? answer.error.name : answer?.type}`
    )
  }
  await mined
  return answer
}

/** Re-asks every call until each is terminal (done/failed/void); returns their final states. */
async function settleAll(seller: FaultySeller, timeoutMs = 20_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const states = (await sellerRecords(seller.datastore)).map((r) => r.state)
    if (states.every((s) => ['done', 'failed', 'void'].includes(s)) || Date.now() > deadline) return states
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

describe('a nonce spent before the seller settles', () => {
  for (const how of ['on another authorization', 'by cancelAuthorization'] as const) {
    it(`${how}: the call is void, the payer throttled after one reverted seller transaction`, {
      timeout: 60_000
    }, async () => {
      const seller = await shortLivedSeller()
      try {
        const payer = await freshPayer(10n * PRICE)
        const sink = privateKeyToAccount(generatePrivateKey()).address
        const payeeBefore = await chain.balance(seller.address)
        const first = await challengeAndSign(dialer, seller.node, 'spent-0', payer)
        const answer = await sabotaged(seller, first.paid, () =>
          how === 'by cancelAuthorization'
            ? cancelAuthorization(chain, payer, first.nonce)
            : spendNonceElsewhere(chain, payer, first.nonce, sink, 1n)
        )
        expect(answer.type).toBe('ERROR') // pending or void: never a result
        // The payer's next calls are refused before anything is broadcast.
        for (let i = 1; i <= 2; i++) {
          const next = await challengeAndSign(dialer, seller.node, `spent-${i}`, payer)
          const [refused] = await rawExchange(dialer, seller.node, [next.paid])
          expect(refused?.type === 'ERROR' ? refused.error.name : refused?.type).toBe('RATE_LIMITED')
        }
        expect(await settleAll(seller)).toEqual(['void'])
        const [record] = await sellerRecords(seller.datastore)
        expect(record?.error?.details?.reason).toBe(
          how === 'by cancelAuthorization' ? 'authorization_canceled' : 'authorization_nonce_spent'
        )
        const [again] = await rawExchange(dialer, seller.node, [first.paid])
        expect(again?.type === 'ERROR' ? again.error.name : again?.type).toBe('SETTLEMENT_FAILED')
        const receipts = await sellerTransactions(seller)
        expect(receipts.map((r) => r.status)).toEqual(['reverted'])
        expect(seller.node.services.x402Server.stats().pendingCalls).toBe(0)
        expect(await chain.balance(seller.address)).toBe(payeeBefore)
        expect(seller.runs.size).toBe(0)
        await assertMoneyInvariant(chain, new Map(), [], { datastore: seller.datastore, settled: true })
      } finally {
        await seller.stop()
      }
    })
  }
})

describe('one transaction that pays the seller once and spends several calls’ nonces', () => {
  it('settles none of the calls (local settler)', { timeout: 60_000 }, async () => {
    const seller = await shortLivedSeller()
    try {
      const payer = await freshPayer(10n * PRICE)
      const sink = privateKeyToAccount(generatePrivateKey()).address
      const batch = await deployBatch(chain, chain.devnet.accounts[4]!.account)
      const calls = []
      for (let i = 0; i < 3; i++) calls.push(await challengeAndSign(dialer, seller.node, `bundle-${i}`, payer))
      const payeeBefore = await chain.balance(seller.address)
      await test().setAutomine(false)
      const bundle = await bundleOnePaymentForMany(
        chain,
        chain.devnet.accounts[4]!.account,
        batch,
        payer,
        calls.map((c) => c.nonce),
        sink,
        seller.address,
        PRICE
      )
      await inPool(chain, bundle)
      const submitted = new Promise<void>((resolve) =>
        seller.node.services.x402Server.addEventListener('payment:submitted', () => resolve(), { once: true })
      )
      const answers = Promise.all(calls.map((c) => rawExchange(dialer, seller.node, [c.paid])))
      await submitted
      await new Promise((resolve) => setTimeout(resolve, 200))
      await test().mine({ blocks: 1 })
      await test().setIntervalMining({ interval: 1 })
      for (const [answer] of await answers) expect(answer?.type).toBe('ERROR')
      expect(await settleAll(seller)).toEqual(['void', 'void', 'void'])
      expect(seller.runs.size).toBe(0) // no result for a payment that was not this call's
      expect(await chain.balance(seller.address)).toBe(payeeBefore + PRICE) // the payer's own, unrelated payment
      const receipts = await sellerTransactions(seller)
      expect(receipts.filter((r) => r.status === 'reverted').length).toBeLessThanOrEqual(1)
      await assertMoneyInvariant(chain, new Map(), [], { datastore: seller.datastore, settled: true })
    } finally {
      await seller.stop()
    }
  })

  it('settles none of the calls (facilitator settler)', { timeout: 60_000 }, async () => {
    const facilitator: FacilitatorServer = await startDevnetFacilitator(chain.devnet)
    const payTo = chain.devnet.accounts[2]!.address
    const datastore = new MemoryDatastore()
    const seller = await createNode({
      datastore,
      server: {
        settler: facilitatorSettler({
          url: facilitator.url,
          payTo,
          publicClient: chain.client,
          resubmitAfterMs: 500,
          refunder: chain.refunderFor(chain.devnet.accounts[2]!)
        }),
        asset: chain.asset,
        confirmationTimeoutMs: 2_000,
        resolveIntervalMs: 500,
        minSettleWindowSeconds: 3
      }
    })
    let runs = 0
    seller.services.x402Server.register('job', {
      price: { amount: PRICE, maxTimeoutSeconds: 9 },
      handler: () => {
        runs++
        return text('served')
      }
    })
    try {
      const payer = await freshPayer(10n * PRICE)
      const sink = privateKeyToAccount(generatePrivateKey()).address
      const batch = await deployBatch(chain, chain.devnet.accounts[4]!.account)
      const calls = []
      for (let i = 0; i < 3; i++) calls.push(await challengeAndSign(dialer, seller, `fbundle-${i}`, payer))
      const payeeBefore = await chain.balance(payTo)
      await test().setAutomine(false)
      const bundle = await bundleOnePaymentForMany(
        chain,
        chain.devnet.accounts[4]!.account,
        batch,
        payer,
        calls.map((c) => c.nonce),
        sink,
        payTo,
        PRICE
      )
      await inPool(chain, bundle)
      const answers = Promise.all(calls.map((c) => rawExchange(dialer, seller, [c.paid])))
      for (let i = 0; i < 300 && (await test().getTxpoolStatus()).pending < 4; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      await test().mine({ blocks: 1 })
      await test().setIntervalMining({ interval: 1 })
      await answers
      const deadline = Date.now() + 20_000
      let states: string[] = []
      while (Date.now() < deadline) {
        states = (await sellerRecords(datastore)).map((r) => r.state)
        if (states.every((s) => s === 'void')) break
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
      expect(states).toEqual(['void', 'void', 'void'])
      expect(runs).toBe(0)
      expect(await chain.balance(payTo)).toBe(payeeBefore + PRICE)
      await assertMoneyInvariant(chain, new Map(), [], { datastore, settled: true })
    } finally {
      await seller.stop()
      await facilitator.stop()
    }
  })
})

describe('settlements of one payer in flight at once', () => {
  it('a fresh payer has one in flight: draining its balance costs the seller at most one reverted transaction', {
    timeout: 90_000
  }, async () => {
    const seller = await shortLivedSeller()
    try {
      const payer = await freshPayer(5n * PRICE)
      const calls = []
      for (let i = 0; i < 5; i++) calls.push(await challengeAndSign(dialer, seller.node, `drain-${i}`, payer))
      await test().setAutomine(false)
      // Once the first settlement is in the pool, the payer moves its whole balance away with a higher tip.
      const drained = new Promise<void>((resolve) =>
        seller.node.services.x402Server.addEventListener(
          'payment:submitted',
          (event) => {
            void inPool(chain, event.detail.transaction!)
              .then(() => transferAway(chain, payer, chain.devnet.accounts[5]!.address, 5n * PRICE, true))
              .then(() => new Promise((r) => setTimeout(r, 200)))
              .then(() => test().mine({ blocks: 1 }))
              .then(() => test().setIntervalMining({ interval: 1 }))
              .then(() => resolve())
          },
          { once: true }
        )
      )
      const answers = await Promise.all(calls.map((c) => rawExchange(dialer, seller.node, [c.paid])))
      await drained
      for (const [answer] of answers) expect(answer?.type).toBe('ERROR')
      // The calls end void once their 9 s authorizations are past by chain time: room for a loaded machine.
      expect(await settleAll(seller, 45_000)).toEqual(Array(5).fill('void'))
      const receipts = await sellerTransactions(seller)
      expect(receipts.filter((r) => r.status === 'reverted').length).toBeLessThanOrEqual(1)
      expect(seller.runs.size).toBe(0)
      await assertMoneyInvariant(chain, new Map(), [], { datastore: seller.datastore, settled: true })
    } finally {
      await seller.stop()
    }
  })

  it('a payer that paid before gets more in flight, up to the cap', { timeout: 60_000 }, async () => {
    const seller = await shortLivedSeller()
    try {
      const payer = await freshPayer(20n * PRICE)
      const one = await challengeAndSign(dialer, seller.node, 'credit-0', payer)
      const [first] = await rawExchange(dialer, seller.node, [one.paid])
      expect(first?.type).toBe('RESPONSE') // one confirmed payment: two may be in flight now
      const calls = []
      for (let i = 1; i <= 4; i++) calls.push(await challengeAndSign(dialer, seller.node, `credit-${i}`, payer))
      const answers = await Promise.all(calls.map((c) => rawExchange(dialer, seller.node, [c.paid])))
      expect(answers.map(([a]) => a?.type)).toEqual(Array(4).fill('RESPONSE'))
      expect(seller.runs.size).toBe(5)
    } finally {
      await seller.stop()
    }
  })

  it('calls that cannot be broadcast (the balance went away) do not keep the payer’s slots', {
    timeout: 60_000
  }, async () => {
    const seller = await shortLivedSeller(30)
    try {
      const payer = await freshPayer(3n * PRICE)
      const payeeBefore = await chain.balance(seller.address)
      const calls = []
      for (let i = 0; i < 3; i++) calls.push(await challengeAndSign(dialer, seller.node, `parked-${i}`, payer))
      await test().setAutomine(false)
      // Once the first settlement is in the pool, the payer moves the rest away — mined after it: nothing reverts.
      const mined = new Promise<void>((resolve) =>
        seller.node.services.x402Server.addEventListener(
          'payment:submitted',
          (event) => {
            void inPool(chain, event.detail.transaction!)
              .then(() => transferAway(chain, payer, chain.devnet.accounts[5]!.address, 2n * PRICE, 'after'))
              .then((hash) => inPool(chain, hash))
              .then(() => test().mine({ blocks: 1 }))
              .then(() => test().setIntervalMining({ interval: 1 }))
              .then(() => resolve())
          },
          { once: true }
        )
      )
      const first = await Promise.all(calls.map((c) => rawExchange(dialer, seller.node, [c.paid])))
      await mined
      expect(first.map(([a]) => a?.type)).toContain('RESPONSE') // the call that was in flight
      await new Promise((resolve) => setTimeout(resolve, 2_500)) // the others find the balance gone: nothing sent
      // The payer tops up and calls again: it is not held up by its parked calls.
      await transferAway(chain, chain.devnet.accounts[5]!.account, payer.address, 10n * PRICE, false)
      const fourth = await challengeAndSign(dialer, seller.node, 'parked-next', payer)
      const [answer] = await rawExchange(dialer, seller.node, [fourth.paid])
      expect(answer?.type === 'ERROR' ? answer.error.name : answer?.type).toBe('RESPONSE')
      // Every call ends, and the seller served exactly what it was paid for.
      for (const c of calls) {
        for (let i = 0; i < 40; i++) {
          const [again] = await rawExchange(dialer, seller.node, [c.paid])
          if (again?.type !== 'ERROR' || again.error.name !== 'SETTLEMENT_PENDING') break
          await new Promise((resolve) => setTimeout(resolve, 500))
        }
      }
      const records = await sellerRecords(seller.datastore)
      const done = records.filter((r) => r.state === 'done').length
      expect(records.every((r) => ['done', 'void'].includes(r.state))).toBe(true)
      expect(await chain.balance(seller.address)).toBe(payeeBefore + BigInt(done) * PRICE)
      expect([...seller.runs.values()].reduce((a, b) => a + b, 0)).toBe(done)
      expect((await sellerTransactions(seller)).filter((r) => r.status === 'reverted')).toHaveLength(0)
      await assertMoneyInvariant(chain, new Map(), [], { datastore: seller.datastore, settled: true })
    } finally {
      await seller.stop()
    }
  })
})
