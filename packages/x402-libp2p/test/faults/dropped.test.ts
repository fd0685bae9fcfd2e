import { createTestClient, http, type LocalAccount, parseGwei } from 'viem'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SettlementNonceManager } from '../../src/index.ts'
import { type Chain, startChain } from '../fixtures/chain.ts'
import type { X402Node } from '../fixtures/nodes.ts'
import { connect, type FaultySeller, payJob, startBuyers, startFaultySeller, totalRuns } from './harness.ts'
import { assertMoneyInvariant, balances, type PaidCallLog, sellerRecords } from './money.ts'

/**
 * Issue case 4: a settlement transaction the node accepted is dropped from its pool. Every later settlement of the
 * same account waits behind the nonce gap; nothing moves until the gap is repaired. Here the dropped transaction is
 * re-broadcast from its stored raw bytes, a stuck one (fee below the base fee) is replaced with higher fees, and a gap
 * no settlement explains (another writer of the account took a nonce and never sent it) is filled — so every pending
 * settlement reaches a terminal state and every buyer gets its result, charged once.
 */
let chain: Chain
let buyers: Array<{ node: X402Node; account: LocalAccount }>

beforeAll(async () => {
  chain = await startChain(12, { blockTime: 1 })
  buyers = await startBuyers(
    chain,
    chain.devnet.accounts.slice(1, 11).map((a) => a.account),
    { reaskAttempts: 0 }
  )
})
afterAll(async () => {
  await Promise.all(buyers.map((b) => b.node.stop()))
  await chain?.stop()
})

let seller: FaultySeller | undefined
afterEach(async () => {
  await seller?.stop()
  seller = undefined
})

function runCalls(s: FaultySeller, prefix: string, count: number): Promise<PaidCallLog[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => {
      const buyer = buyers[i % buyers.length]!
      return payJob(buyer.node.services.x402Client, buyer.account.address, s, `${prefix}-${i}`, {
        retry: { deadlineMs: 40_000, pauseMs: 500 }
      })
    })
  )
}

describe('a dropped settlement transaction', () => {
  it('is re-broadcast; the 26 settlements queued behind its nonce gap and 10 later ones all complete', {
    timeout: 90_000
  }, async () => {
    seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
      server: { confirmationTimeoutMs: 3_000 }
    })
    seller.proxy.fault({ method: 'eth_sendRawTransaction', action: { kind: 'drop' } })
    await connect(buyers, seller)
    const before = await balances(
      chain,
      buyers.map((b) => b.account.address)
    )
    const first = await runCalls(seller, 'gap', 26)
    const later = await runCalls(seller, 'after', 10)
    const logs = [...first, ...later]
    expect(seller.proxy.faultsApplied()).toBe(1)
    expect(logs.filter((l) => l.result == null).map((l) => `${l.correlationId}: ${String(l.error)}`)).toEqual([])
    expect(totalRuns(seller.runs)).toBe(36)
    // The dropped transaction was sent again: one more broadcast than settlements.
    expect(seller.proxy.count('eth_sendRawTransaction')).toBeGreaterThanOrEqual(37)
    await assertMoneyInvariant(chain, before, logs, { datastore: seller.datastore, settled: true })
    expect(seller.node.services.x402Server.stats().pendingCalls).toBe(0)
  })
})

describe('a stuck settlement transaction', () => {
  it('is replaced at its nonce with higher fees when the base fee rises above what it offers', {
    timeout: 60_000
  }, async () => {
    seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
      server: { confirmationTimeoutMs: 2_000 },
      settler: { stuckAfterMs: 2_000 }
    })
    const test = createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })
    // No block until the settlement is in the pool; then the next blocks cost far more than the fees it was signed
    // with.
    await test.setIntervalMining({ interval: 0 })
    seller.node.services.x402Server.addEventListener(
      'payment:submitted',
      (event) => {
        void (async () => {
          while ((await chain.client.getTransaction({ hash: event.detail.transaction! }).catch(() => null)) == null) {
            await new Promise((resolve) => setTimeout(resolve, 10))
          }
          await test.setNextBlockBaseFeePerGas({ baseFeePerGas: parseGwei('500') })
          await test.setIntervalMining({ interval: 1 })
        })()
      },
      { once: true }
    )
    const buyer = buyers[0]!
    const before = await balances(chain, [buyer.account.address])
    const log = await payJob(buyer.node.services.x402Client, buyer.account.address, seller, 'stuck-1', {
      body: 'stuck',
      retry: { deadlineMs: 40_000, pauseMs: 500 }
    })
    expect(log.error).toBeUndefined()
    const [record] = await sellerRecords(seller.datastore)
    const [original, replacement] = record!.attempt!.transactions
    expect(replacement, 'a replacement was signed').toBeDefined()
    expect(replacement!.nonce).toBe(original!.nonce)
    expect(BigInt(replacement!.maxFeePerGas!)).toBeGreaterThan(BigInt(original!.maxFeePerGas!))
    expect(log.result!.settlement!.transaction).not.toBe(original!.hash)
    await assertMoneyInvariant(chain, before, [log], { datastore: seller.datastore, settled: true })
  })
})

describe('a halted chain', () => {
  it('is not a fee problem: nothing is replaced while no block comes; the settlement lands when blocks resume', {
    timeout: 60_000
  }, async () => {
    seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
      server: { confirmationTimeoutMs: 1_000, resolveIntervalMs: 200 },
      settler: { stuckAfterMs: 200 }
    })
    const test = createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })
    const buyer = buyers[2]!
    const before = await balances(chain, [buyer.account.address])
    try {
      // The chain's clock runs ahead of the seller's: block time is no measure of whether blocks come.
      await test.setNextBlockTimestamp({ timestamp: BigInt(Math.floor(Date.now() / 1000) + 20) })
      await test.mine({ blocks: 1 })
      await test.setIntervalMining({ interval: 0 }) // no blocks at all
      const first = await payJob(buyer.node.services.x402Client, buyer.account.address, seller, 'halted-1', {
        retry: { deadlineMs: 0 }
      })
      expect(first.error).toMatchObject({ codeName: 'SETTLEMENT_PENDING' })
      await new Promise((resolve) => setTimeout(resolve, 3_000)) // many resolver passes, each "stuck" for > 200 ms
      const [record] = await sellerRecords(seller.datastore)
      expect(record?.attempt?.transactions).toHaveLength(1)
      await test.setIntervalMining({ interval: 1 })
      const log = await payJob(buyer.node.services.x402Client, buyer.account.address, seller, 'halted-1', {
        retry: { deadlineMs: 20_000, pauseMs: 500 }
      })
      expect(log.error).toBeUndefined()
      expect(log.result?.settlement?.transaction).toBe(record?.attempt?.transactions[0]?.hash)
      await assertMoneyInvariant(chain, before, [log], { datastore: seller.datastore, settled: true })
    } finally {
      await test.setIntervalMining({ interval: 1 })
    }
  })
})

describe('a nonce gap no settlement explains', () => {
  it('is filled after the grace period, so settlements behind it are mined', { timeout: 60_000 }, async () => {
    const nonceManager = new SettlementNonceManager()
    seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
      server: { confirmationTimeoutMs: 2_000 },
      settler: { nonceManager, gapGraceMs: 1_000 }
    })
    // Another writer of the same account takes the next nonce and never broadcasts (it crashed).
    const taken = await nonceManager.consume({
      address: seller.address,
      chainId: chain.devnet.chainId,
      client: chain.client
    })
    const buyer = buyers[1]!
    const before = await balances(chain, [buyer.account.address])
    const log = await payJob(buyer.node.services.x402Client, buyer.account.address, seller, 'hole-1', {
      body: 'hole',
      retry: { deadlineMs: 40_000, pauseMs: 500 }
    })
    expect(log.error).toBeUndefined()
    const [record] = await sellerRecords(seller.datastore)
    expect(record?.attempt?.transactions[0]?.nonce).toBe(taken + 1)
    expect(await chain.client.getTransactionCount({ address: seller.address })).toBeGreaterThan(taken + 1)
    await assertMoneyInvariant(chain, before, [log], { datastore: seller.datastore, settled: true })
  })
})
