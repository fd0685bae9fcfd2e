import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { LevelDatastore } from 'datastore-level'
import { Key } from 'interface-datastore'
import { createTestClient, type Hash, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MULTICALL3_ADDRESS } from '../../src/index.ts'
import type { CallRecord } from '../../src/store/records.ts'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { PRICE, startBuyers, str, text } from './harness.ts'
import { assertMoneyInvariant, balances, callUntilOutcome, sellerRecords } from './money.ts'
import { kill9, type SellerProcess, startSellerProcess } from './seller-control.ts'

/**
 * Issue 14: the seller process is killed (`kill -9`) with a batch in flight — one `aggregate3` transaction carrying three
 * buyers' authorizations, broadcast and not yet in a block — and the transaction is dropped from the pool while it is
 * down. The batch (raw signed transaction and member ids, stored once under the batch's id, which every member's
 * record names) was persisted before the broadcast: the restarted seller finds it from any of those records,
 * re-broadcasts the very same transaction, and each call completes with it. Every buyer is charged once.
 */
describe('a seller killed with a batch in flight (1-second blocks)', () => {
  let chain: Chain
  let dir: string

  beforeAll(async () => {
    chain = await startChain(5, { blockTime: 1 })
    dir = await mkdtemp(join(tmpdir(), 'betar-x402-batch-kill-'))
  })
  afterAll(async () => {
    await chain?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('the restarted seller re-broadcasts the stored batch and every member completes', {
    timeout: 90_000
  }, async () => {
    const dataDir = join(dir, 'seller')
    const config = {
      rpcUrl: chain.devnet.rpcUrl,
      chainId: chain.devnet.chainId,
      dataDir,
      peerKey: Buffer.from(privateKeyToProtobuf(await generateKeyPair('Ed25519'))).toString('hex'),
      walletKey: chain.devnet.accounts[0]!.privateKey,
      asset: chain.asset,
      price: PRICE.toString(),
      confirmationTimeoutMs: 5_000,
      batch: { minLingerMs: 300, maxLingerMs: 300 }
    }
    const test = createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })
    const buyers = await startBuyers(
      chain,
      [1, 2, 3].map((i) => chain.devnet.accounts[i]!.account),
      { reaskAttempts: 0 }
    )
    let seller: SellerProcess = await startSellerProcess(config)
    let addrs = seller.addrs
    const ids = buyers.map((_, i) => `batch-killed-${i}`)
    try {
      const before = await balances(
        chain,
        buyers.map((b) => b.account.address)
      )
      await test.setIntervalMining({ interval: 0 }) // no block until the seller is dead
      const outcomes = buyers.map((b, i) =>
        callUntilOutcome(
          b.node.services.x402Client,
          b.account.address,
          () => addrs,
          'job',
          text(ids[i]!),
          { maxAmount: PRICE, payTo: chain.devnet.accounts[0]!.address, correlationId: ids[i]! },
          { deadlineMs: 60_000, pauseMs: 500 }
        )
      )
      const submitted = await Promise.all(
        ids.map((id) => seller.next('payment:submitted', (l) => l.correlationId === id))
      )
      const hash = submitted[0]!.transaction as Hash
      expect(submitted.map((s) => s.transaction)).toEqual([hash, hash, hash]) // one batch for the three
      for (;;) {
        const tx = await chain.client.getTransaction({ hash }).catch(() => undefined)
        if (tx != null) {
          expect(tx.blockNumber).toBeNull()
          expect(tx.to?.toLowerCase()).toBe(MULTICALL3_ADDRESS.toLowerCase())
          break
        }
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      await kill9(seller)
      await test.dropTransaction({ hash })
      await test.setIntervalMining({ interval: 1 })
      await new Promise((resolve) => setTimeout(resolve, 2_500)) // blocks pass without it
      expect(await chain.client.getTransaction({ hash }).catch(() => undefined)).toBeUndefined()

      // Every member's record names the batch and its transaction; the batch's raw transaction and member ids are
      // stored once, under its id.
      const stored = new LevelDatastore(join(dataDir, 'datastore'))
      await stored.open()
      let records: CallRecord[]
      let batch: { members: string[]; raw: Record<string, string> } | undefined
      try {
        records = await sellerRecords(stored)
        const id = records[0]?.attempt?.batch?.id
        const bytes = await stored.get(new Key(`/betar/x402/batches/${id}`))
        batch = (JSON.parse(new TextDecoder().decode(bytes)) as { value: typeof batch }).value
      } finally {
        await stored.close()
      }
      expect(records).toHaveLength(3)
      for (const r of records) {
        expect(r.attempt?.transactions.at(-1)?.hash).toBe(hash)
        expect(r.attempt?.batch?.id).toBe(records[0]?.attempt?.batch?.id)
      }
      expect(batch?.raw[hash]).toMatch(/^0x02/)
      expect(batch?.members).toHaveLength(3)

      seller = await startSellerProcess(config)
      addrs = seller.addrs
      const logs = await Promise.all(outcomes)
      expect(logs.map((l) => l.error)).toEqual([undefined, undefined, undefined])
      expect(logs.map((l) => str(l.result!.body))).toEqual(ids.map((id) => `done:${id}`))
      // The very transaction signed before the kill settled all three.
      expect(logs.map((l) => l.result!.settlement!.transaction)).toEqual([hash, hash, hash])
      await assertMoneyInvariant(chain, before, logs)
    } finally {
      await test.setIntervalMining({ interval: 1 })
      await kill9(seller)
      await Promise.all(buyers.map((b) => b.node.stop()))
    }
    const datastore = new LevelDatastore(join(dataDir, 'datastore'))
    await datastore.open()
    try {
      await assertMoneyInvariant(chain, new Map(), [], { datastore, settled: true })
    } finally {
      await datastore.close()
    }
  })
})
