import type { Address, Hash, LocalAccount } from 'viem'
import { createTestClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CallResult, MULTICALL3_ADDRESS, X402Error } from '../../src/index.ts'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { connect, type FaultySeller, PRICE, payJob, startBuyers, startFaultySeller, str, text } from './harness.ts'
import { assertMoneyInvariant, balances, type PaidCallLog, sellerRecords } from './money.ts'
import { delegateAccount, deployGasBurnerDelegate, freshAccount, inPool } from './payer-tricks.ts'

/**
 * A payer that burns a batch's gas (issue 14 review): an externally owned payer gets code after its verification —
 * an EIP-7702 delegation to a contract whose ERC-1271 `isValidSignature` burns every unit of gas it is given, which the
 * token then calls inside the seller's batch. Multicall3 gives each call all the gas left, so the whole `aggregate3`
 * transaction fails. The other members did nothing wrong: they are sent again (alone) and settled, neither throttled
 * nor put in default; only a payer whose own transfer fails simulated alone is blamed. A payer that has code when
 * the batch is signed is settled alone, and the others' batch is not held up.
 */
describe('a batch member whose payer gets gas-burning code (EIP-7702)', () => {
  let chain: Chain
  let burner: Address
  const anvil = () =>
    createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })
  const codeOf = (e: unknown) => (e instanceof X402Error ? `${e.codeName}:${String(e.details?.reason ?? '')}` : e)

  beforeAll(async () => {
    chain = await startChain(6)
    burner = await deployGasBurnerDelegate(chain, chain.devnet.accounts[5]!.account)
  })
  afterAll(async () => {
    await anvil()
      .setAutomine(true)
      .catch(() => {})
    await chain?.stop()
  })

  /** Three fresh payers — the burner first — and their buyers, connected to `seller`. */
  async function threePayers(seller: FaultySeller, usdc: bigint) {
    const funder = chain.devnet.accounts[1]!.account
    const payers: LocalAccount[] = []
    for (let i = 0; i < 3; i++) payers.push(await freshAccount(chain, usdc, funder))
    const buyers = await startBuyers(chain, payers, { reaskAttempts: 0 })
    await connect(buyers, seller)
    return { payers, buyers }
  }

  /** The settlement transactions the seller signed, first per call. */
  function submissions(seller: FaultySeller): Map<string, Hash> {
    const submitted = new Map<string, Hash>()
    seller.node.services.x402Server.addEventListener('payment:submitted', (e) => {
      if (e.detail.transaction != null && !submitted.has(e.detail.correlationId)) {
        submitted.set(e.detail.correlationId, e.detail.transaction)
      }
    })
    return submitted
  }

  const until = async (check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('timed out')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  it("'before': the batch reverts; the other members are sent again alone, settled and served, and not throttled", {
    timeout: 90_000
  }, async () => {
    const seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
      settler: { batch: { minLingerMs: 1_500, maxLingerMs: 1_500 } },
      server: { resolveIntervalMs: 200 }
    })
    const submitted = submissions(seller)
    const verified = new Set<string>()
    seller.node.services.x402Server.addEventListener('payment:verified', (e) => verified.add(e.detail.correlationId))
    const { payers, buyers } = await threePayers(seller, 2n * PRICE)
    const [hostile, alice, bob] = payers as [LocalAccount, LocalAccount, LocalAccount]
    const before = await balances(chain, [alice.address, bob.address])
    const ids = ['burn-h', 'burn-a', 'burn-b']
    try {
      await anvil().setAutomine(false)
      // The burner's authorization is verified (an EOA then) and opens the batch; the others join it.
      const h = payJob(buyers[0]!.node.services.x402Client, hostile.address, seller, ids[0]!, {
        retry: { deadlineMs: 0 }
      })
      await until(() => verified.has(ids[0]!))
      const calls = [1, 2].map((i) =>
        payJob(buyers[i]!.node.services.x402Client, payers[i]!.address, seller, ids[i]!, {
          retry: { deadlineMs: 30_000, pauseMs: 200 }
        })
      )
      await until(() => ids.every((id) => submitted.has(id)))
      const batch = submitted.get(ids[0]!)!
      expect(ids.map((id) => submitted.get(id))).toEqual([batch, batch, batch])
      await inPool(chain, batch)
      // Ahead of the batch in the same block, the burner's payer delegates its account to the gas burner.
      await delegateAccount(chain, hostile, chain.devnet.accounts[4]!.account, burner)
      await anvil().mine({ blocks: 1 })
      await anvil().setAutomine(true)
      expect((await chain.client.getTransactionReceipt({ hash: batch })).status).toBe('reverted')

      const logs: PaidCallLog[] = await Promise.all(calls)
      expect(logs.map((l) => codeOf(l.error))).toEqual([undefined, undefined])
      expect(logs.map((l) => str(l.result!.body))).toEqual(['done:burn-a', 'done:burn-b'])
      // Each settled alone, in a transaction of its own (not another batch the burner could sink).
      const own = logs.map((l) => l.result!.settlement!.transaction as Hash)
      expect(new Set([batch, ...own]).size).toBe(3)
      for (const hash of own) {
        expect((await chain.client.getTransactionReceipt({ hash })).to?.toLowerCase()).toBe(
          chain.asset.address.toLowerCase()
        )
      }
      // Not throttled for another payer's doing: the next call is served at once.
      const again = await payJob(buyers[1]!.node.services.x402Client, alice.address, seller, 'burn-a-2', {
        retry: { deadlineMs: 0 }
      })
      expect(codeOf(again.error)).toBeUndefined()
      // The burner's transfer fails alone: it is blamed — its call stays unpaid (never sent again), it is throttled.
      expect(codeOf((await h).error)).toBe('SETTLEMENT_PENDING:transaction_reverted')
      const records = await sellerRecords(seller.datastore)
      expect(records.find((r) => r.correlationId === ids[0])?.attempt?.reason).toBe('transaction_reverted')
      const next = await payJob(buyers[0]!.node.services.x402Client, hostile.address, seller, 'burn-h-2', {
        retry: { deadlineMs: 0 }
      })
      expect((next.error as X402Error).codeName).toBe('RATE_LIMITED')
      expect(seller.runs.get(ids[0]!)).toBeUndefined()
      await assertMoneyInvariant(chain, before, [...logs, again], { datastore: seller.datastore })
    } finally {
      await anvil().setAutomine(true)
      await Promise.all(buyers.map((b) => b.node.stop()))
      await seller.stop()
    }
  })

  it("'deferred': the other members settle and stay in good standing; the burner's payer is in default", {
    timeout: 90_000
  }, async () => {
    const seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
      settler: { batch: { minLingerMs: 1_500, maxLingerMs: 1_500 } },
      server: { deferredCreditLimit: 3n * PRICE, resolveIntervalMs: 200 }
    })
    seller.node.services.x402Server.register('micro', {
      price: { amount: PRICE },
      settlement: 'deferred',
      handler: (req) => text(`micro:${str(req.body)}`)
    })
    const submitted = submissions(seller)
    const { payers, buyers } = await threePayers(seller, 5n * PRICE)
    const [hostile, alice, bob] = payers as [LocalAccount, LocalAccount, LocalAccount]
    const before = await balances(chain, [alice.address, bob.address])
    const call = (i: number, id: string): Promise<CallResult | unknown> =>
      buyers[i]!.node.services.x402Client.call(seller.node.getMultiaddrs(), 'micro', text(id), {
        maxAmount: PRICE,
        payTo: seller.address,
        correlationId: id
      }).catch((err: unknown) => err)
    const ids = ['dburn-h', 'dburn-a', 'dburn-b']
    try {
      await anvil().setAutomine(false)
      // All three are answered at once (on credit); their settlements share one batch — the burner's first, so that
      // it takes the gas of the whole batch (after the others, it would only fail its own call).
      const first = (await call(0, ids[0]!)) as CallResult
      const answered = [first, ...((await Promise.all([call(1, ids[1]!), call(2, ids[2]!)])) as CallResult[])]
      expect(answered.map((r) => str(r.body))).toEqual(ids.map((id) => `micro:${id}`))
      await until(() => ids.every((id) => submitted.has(id)))
      const batch = submitted.get(ids[0]!)!
      expect(ids.map((id) => submitted.get(id))).toEqual([batch, batch, batch])
      await inPool(chain, batch)
      await delegateAccount(chain, hostile, chain.devnet.accounts[4]!.account, burner)
      await anvil().mine({ blocks: 1 })
      await anvil().setAutomine(true)
      expect((await chain.client.getTransactionReceipt({ hash: batch })).status).toBe('reverted')

      // The seller is paid for what it delivered to the innocent payers.
      await until(async () => {
        const records = await sellerRecords(seller.datastore)
        return ids.slice(1).every((id) => records.find((r) => r.correlationId === id)?.state === 'done')
      })
      // They are in good standing: their next deferred calls are served. The burner is in default.
      const again = (await Promise.all([call(1, 'dburn-a-2'), call(2, 'dburn-b-2')])) as CallResult[]
      expect(again.map((r) => codeOf(r))).toMatchObject([{ deferred: true }, { deferred: true }])
      expect(codeOf(await call(0, 'dburn-h-2'))).toBe('PAYMENT_INVALID:payer_in_default')
      await until(async () => (await sellerRecords(seller.datastore)).filter((r) => r.state === 'done').length === 4)
      const logs: PaidCallLog[] = [1, 2].flatMap((i) => [
        { buyer: payers[i]!.address, correlationId: ids[i]!, price: PRICE, result: answered[i]!, asks: 1 },
        { buyer: payers[i]!.address, correlationId: `${ids[i]}-2`, price: PRICE, result: again[i - 1]!, asks: 1 }
      ])
      await assertMoneyInvariant(chain, before, logs, { datastore: seller.datastore })
    } finally {
      await anvil().setAutomine(true)
      await Promise.all(buyers.map((b) => b.node.stop()))
      await seller.stop()
    }
  })

  it('a payer with code when the batch is signed is settled alone (refused by its own simulation); the others share a batch', {
    timeout: 90_000
  }, async () => {
    const seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
      settler: { batch: { minLingerMs: 2_000, maxLingerMs: 2_000 } },
      server: { resolveIntervalMs: 200 }
    })
    const verified = new Set<string>()
    seller.node.services.x402Server.addEventListener('payment:verified', (e) => verified.add(e.detail.correlationId))
    const { payers, buyers } = await threePayers(seller, 2n * PRICE)
    const [hostile, alice, bob] = payers as [LocalAccount, LocalAccount, LocalAccount]
    const before = await balances(chain, [alice.address, bob.address])
    const ids = ['early-h', 'early-a', 'early-b']
    try {
      // Verified as an EOA (its code is remembered for a minute), then it delegates before the batch is signed.
      const h = payJob(buyers[0]!.node.services.x402Client, hostile.address, seller, ids[0]!, {
        retry: { deadlineMs: 0 }
      })
      await until(() => verified.has(ids[0]!))
      const delegated = await delegateAccount(chain, hostile, chain.devnet.accounts[4]!.account, burner)
      await chain.client.waitForTransactionReceipt({ hash: delegated, pollingInterval: 20 })
      const logs = await Promise.all(
        [1, 2].map((i) =>
          payJob(buyers[i]!.node.services.x402Client, payers[i]!.address, seller, ids[i]!, {
            retry: { deadlineMs: 30_000, pauseMs: 200 }
          })
        )
      )
      expect(logs.map((l) => codeOf(l.error))).toEqual([undefined, undefined])
      // The two innocents went out together, in one aggregate3 transaction that succeeded.
      const hashes = new Set(logs.map((l) => l.result!.settlement!.transaction as Hash))
      expect(hashes.size).toBe(1)
      const receipt = await chain.client.getTransactionReceipt({ hash: [...hashes][0]! })
      expect([receipt.status, receipt.to?.toLowerCase()]).toEqual(['success', MULTICALL3_ADDRESS.toLowerCase()])
      // The burner's own transfer was simulated under its gas cap and never sent: no gas of the seller's spent on it.
      // (Its ERC-1271 check starves inside the token, which reports the signature invalid.)
      const refused = ['SETTLEMENT_PENDING:invalid_exact_evm_signature', 'SETTLEMENT_PENDING:settlement_gas_over_cap']
      expect(refused).toContain(codeOf((await h).error))
      const record = (await sellerRecords(seller.datastore)).find((r) => r.correlationId === ids[0])
      expect(record?.attempt?.transactions ?? []).toEqual([])
      expect(seller.runs.get(ids[0]!)).toBeUndefined()
      await assertMoneyInvariant(chain, before, logs, { datastore: seller.datastore })
    } finally {
      await Promise.all(buyers.map((b) => b.node.stop()))
      await seller.stop()
    }
  })
})
