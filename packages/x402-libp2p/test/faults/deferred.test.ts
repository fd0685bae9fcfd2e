import { usdcAbi } from '@betar/devnet'
import type { Datastore } from 'interface-datastore'
import { createTestClient, encodeFunctionData, http, parseGwei } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CallResult, X402Error } from '../../src/index.ts'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { connect, type FaultySeller, PRICE, startBuyers, startFaultySeller, str, text } from './harness.ts'
import { assertDeferredExposure, sellerRecords } from './money.ts'
import { delegateAccount, deployGasBurnerDelegate, freshAccount } from './payer-tricks.ts'

/**
 * Deferred settlement (issue 14): the seller checks the authorization locally, reserves its amount against the payer's
 * credit, runs the handler and answers at once; the payment settles in the next batch. A payer whose deferred
 * settlement fails is cut off; what the seller can lose to it is bounded by its credit limit. Reservations and defaults
 * survive a restart.
 */
const LIMIT = 3n * PRICE

/** A seller with batching and a deferred `micro` resource (credit limit {@link LIMIT}). */
async function startDeferredSeller(chain: Chain, datastore?: Datastore): Promise<FaultySeller & { micro: string[] }> {
  const seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
    settler: { batch: { minLingerMs: 50 } },
    server: { deferredCreditLimit: LIMIT, resolveIntervalMs: 200 },
    ...(datastore != null ? { datastore } : {})
  })
  const micro: string[] = []
  seller.node.services.x402Server.register('micro', {
    price: { amount: PRICE },
    settlement: 'deferred',
    handler: (req) => {
      micro.push(req.correlationId)
      return text(`micro:${str(req.body)}`)
    }
  })
  return Object.assign(seller, { micro })
}

/** Waits until every record of the seller is terminal. */
async function settledAll(datastore: Datastore, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const records = await sellerRecords(datastore)
    if (records.every((r) => ['done', 'void', 'failed', 'refunded'].includes(r.state))) return
    if (Date.now() > deadline) throw new Error(`not settled: ${records.map((r) => r.state).join(',')}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe('deferred settlement', () => {
  let chain: Chain

  beforeAll(async () => {
    chain = await startChain(6)
  })
  afterAll(async () => {
    await chain?.stop()
  })

  it('answers before settling, then settles every call in batches: debited = Σ price', {
    timeout: 60_000
  }, async () => {
    const seller = await startDeferredSeller(chain)
    const buyers = await startBuyers(
      chain,
      [1, 2].map((i) => chain.devnet.accounts[i]!.account)
    )
    try {
      await connect(buyers, seller)
      const before = await Promise.all(buyers.map((b) => chain.balance(b.account.address)))
      const results: CallResult[][] = await Promise.all(
        buyers.map(async (b, i) => {
          const out: CallResult[] = []
          for (let n = 0; n < 3; n++) {
            out.push(
              await b.node.services.x402Client.call(seller.node.getMultiaddrs(), 'micro', text(`${i}-${n}`), {
                maxAmount: PRICE,
                payTo: seller.address,
                correlationId: `deferred-${i}-${n}`
              })
            )
          }
          return out
        })
      )
      for (const [i, list] of results.entries()) {
        expect(list.map((r) => str(r.body))).toEqual([0, 1, 2].map((n) => `micro:${i}-${n}`))
        for (const r of list) {
          expect(r.deferred).toBe(true)
          expect(r.settlement).toMatchObject({ success: false, errorReason: 'settlement_deferred' })
        }
      }
      await settledAll(seller.datastore)
      for (const [i, b] of buyers.entries()) {
        expect(before[i]! - (await chain.balance(b.account.address))).toBe(3n * PRICE)
        expect(await assertDeferredExposure(chain, seller.datastore, b.account.address, LIMIT)).toEqual({
          paid: 3n * PRICE,
          unpaidDelivered: 0n
        })
      }
      // Settled in batches: fewer settlement transactions than calls.
      const txs = new Set((await sellerRecords(seller.datastore)).map((r) => r.settlement?.transaction))
      expect(txs.has(undefined)).toBe(false)
      expect(txs.size).toBeLessThan(6)
      expect(seller.micro).toHaveLength(6) // each handler ran once
    } finally {
      await Promise.all(buyers.map((b) => b.node.stop()))
      await seller.stop()
    }
  })

  it('a payer who drains its wallet is cut off at its credit limit, and stays cut off across a restart', {
    timeout: 90_000
  }, async () => {
    const test = createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })
    let seller = await startDeferredSeller(chain)
    const datastore = seller.datastore
    const payer = chain.devnet.accounts[3]!
    const [buyer] = await startBuyers(chain, [payer.account], { reaskAttempts: 0 })
    const sink = chain.devnet.accounts[4]!.address
    const start = await chain.balance(payer.address)
    const sinkStart = await chain.balance(sink)
    const received: string[] = []
    const call = async (n: number): Promise<unknown> => {
      try {
        const r = await buyer!.node.services.x402Client.call(seller.node.getMultiaddrs(), 'micro', text(`d${n}`), {
          maxAmount: PRICE,
          payTo: seller.address,
          correlationId: `drain-${n}`
        })
        received.push(str(r.body))
        return r
      } catch (err) {
        return err
      }
    }
    try {
      await test.setAutomine(false) // no block: the settlements wait in the pool, the credit stays owed
      // Three calls fit the credit (3 × price); the fourth would owe more than the limit: refused, retryable.
      for (let n = 0; n < 3; n++) expect(await call(n)).not.toBeInstanceOf(Error)
      const over = (await call(3)) as X402Error
      expect(over).toBeInstanceOf(X402Error)
      expect(over.codeName).toBe('RATE_LIMITED')
      expect(over.details?.reason).toBe('credit_limit')

      // The reservations are persisted: a restarted seller still counts them.
      await seller.stop()
      seller = await startDeferredSeller(chain, datastore)
      await connect([buyer!], seller)
      const stillOver = (await call(4)) as X402Error
      expect(stillOver.codeName).toBe('RATE_LIMITED')

      // The payer empties its wallet ahead of the seller's settlements (higher tip, same block).
      const raw = await payer.account.signTransaction({
        chainId: chain.devnet.chainId,
        type: 'eip1559',
        nonce: await chain.client.getTransactionCount({ address: payer.address }),
        to: chain.asset.address,
        data: encodeFunctionData({ abi: usdcAbi, functionName: 'transfer', args: [sink, start] }),
        gas: 100_000n,
        maxPriorityFeePerGas: parseGwei('50'),
        maxFeePerGas: parseGwei('100')
      })
      await chain.client.sendRawTransaction({ serializedTransaction: raw })
      await test.mine({ blocks: 1 })
      await test.setAutomine(true)
      // Its deferred settlements fail: it is in default, and refused — not just rate limited.
      let refused: X402Error | undefined
      for (let n = 5; n < 40 && refused?.codeName !== 'PAYMENT_INVALID'; n++) {
        const r = await call(n)
        if (r instanceof X402Error) refused = r
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
      expect(refused?.codeName).toBe('PAYMENT_INVALID')
      expect(refused?.details?.reason).toBe('payer_in_default')

      // Past validBefore the failed settlements are provably void: the credit is released, the default stays.
      await test.increaseTime({ seconds: 600 })
      await test.mine({ blocks: 1 })
      await settledAll(datastore)
      await seller.stop()
      seller = await startDeferredSeller(chain, datastore)
      await connect([buyer!], seller)
      const afterRestart = (await call(50)) as X402Error
      expect(afterRestart.codeName).toBe('PAYMENT_INVALID')
      expect(await seller.node.services.x402Server.clearDefault(payer.address)).toBe(true)
      // Cleared — and now refused for what it is: an empty wallet.
      const poor = (await call(51)) as X402Error
      expect(poor.codeName).toBe('INSUFFICIENT_FUNDS')

      // Exposure: results delivered without payment are within the credit limit; nothing was paid twice.
      const { paid, unpaidDelivered } = await assertDeferredExposure(chain, datastore, payer.address, LIMIT)
      expect(unpaidDelivered).toBeLessThanOrEqual(LIMIT)
      expect(BigInt(received.length) * PRICE).toBe(paid + unpaidDelivered)
      expect(await chain.balance(payer.address)).toBe(0n)
      expect(await chain.balance(sink)).toBe(sinkStart + start - paid)
    } finally {
      await test.setAutomine(true)
      await buyer!.node.stop()
      await seller.stop()
    }
  })

  it('a payer with EIP-7702 code is simulated, never trusted on ecrecover: refused before the handler runs, nothing moves', {
    timeout: 60_000
  }, async () => {
    // The token checks a payer with code through ERC-1271 (the delegate), not ecrecover: this delegate refuses (it
    // burns all its gas), so the transfer would revert — the signature, a valid ECDSA one, must not be enough.
    const delegate = await deployGasBurnerDelegate(chain, chain.devnet.accounts[5]!.account)
    const payer = await freshAccount(chain, 10n * PRICE, chain.devnet.accounts[1]!.account)
    const hash = await delegateAccount(chain, payer, chain.devnet.accounts[4]!.account, delegate)
    await chain.client.waitForTransactionReceipt({ hash, pollingInterval: 20 })
    expect((await chain.client.getCode({ address: payer.address }))?.slice(0, 8)).toBe('0xef0100')
    const seller = await startDeferredSeller(chain)
    const [buyer] = await startBuyers(chain, [payer], { reaskAttempts: 0 })
    try {
      await connect([buyer!], seller)
      const before = await chain.balance(payer.address)
      const err = await buyer!.node.services.x402Client
        .call(seller.node.getMultiaddrs(), 'micro', text('x'), { maxAmount: PRICE, payTo: seller.address })
        .then(
          () => undefined,
          (e: unknown) => e
        )
      expect(err).toBeInstanceOf(X402Error)
      expect(seller.micro).toEqual([]) // never served on credit
      expect(await chain.balance(payer.address)).toBe(before)
    } finally {
      await buyer!.node.stop()
      await seller.stop()
    }
  })
})
