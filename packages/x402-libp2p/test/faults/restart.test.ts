import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { LevelDatastore } from 'datastore-level'
import { createTestClient, type Hash, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { PRICE, startBuyers, str, text } from './harness.ts'
import { assertMoneyInvariant, balances, callUntilOutcome } from './money.ts'
import { kill9, startSellerProcess } from './seller-control.ts'

/**
 * Issue case 3: the seller process is killed (`kill -9`) after its settlement transaction reached the pool and before
 * a block included it, on a chain with 1-second blocks — and, in the second case, the transaction is dropped from the
 * pool while the seller is down. The restarted seller (same key, same LevelDB) finds the settlement in its call
 * record, resolves it from the chain (its receipt, or a re-broadcast of the stored raw transaction), runs the handler
 * and answers the buyer's re-ask with the result. The buyer is charged once.
 */
describe('a seller killed between broadcast and inclusion (1-second blocks)', () => {
  let chain: Chain
  let dir: string

  beforeAll(async () => {
    chain = await startChain(4, { blockTime: 1 })
    dir = await mkdtemp(join(tmpdir(), 'betar-x402-kill-'))
  })
  afterAll(async () => {
    await chain?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  for (const dropWhileDown of [false, true]) {
    const name = dropWhileDown
      ? 'its transaction is dropped from the pool while it is down: the restarted seller re-broadcasts it'
      : 'the transaction is mined while it is down: the restarted seller finds it'
    it(name, { timeout: 90_000 }, async () => {
      const dataDir = join(dir, dropWhileDown ? 'dropped' : 'mined')
      const config = {
        rpcUrl: chain.devnet.rpcUrl,
        chainId: chain.devnet.chainId,
        dataDir,
        peerKey: Buffer.from(privateKeyToProtobuf(await generateKeyPair('Ed25519'))).toString('hex'),
        walletKey: chain.devnet.accounts[0]!.privateKey,
        asset: chain.asset,
        price: PRICE.toString(),
        confirmationTimeoutMs: 5_000
      }
      const test = createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })
      const [buyer] = await startBuyers(chain, [chain.devnet.accounts[dropWhileDown ? 2 : 1]!.account], {
        reaskAttempts: 0
      })
      let seller = await startSellerProcess(config)
      let addrs = seller.addrs
      const correlationId = `killed-${dropWhileDown ? 'dropped' : 'mined'}`
      try {
        const before = await balances(chain, [buyer!.account.address])
        // No block until the seller is dead: its transaction waits in the pool, broadcast but not included.
        await test.setIntervalMining({ interval: 0 })
        const outcome = callUntilOutcome(
          buyer!.node.services.x402Client,
          buyer!.account.address,
          () => addrs,
          'job',
          text('survive'),
          { maxAmount: PRICE, payTo: chain.devnet.accounts[0]!.address, correlationId },
          { deadlineMs: 60_000, pauseMs: 500 }
        )
        const submitted = await seller.next('payment:submitted')
        const hash = submitted.transaction as Hash
        // Wait until the node holds the transaction (broadcast done), not yet mined — then kill.
        for (;;) {
          const tx = await chain.client.getTransaction({ hash }).catch(() => undefined)
          if (tx != null) {
            expect(tx.blockNumber).toBeNull()
            break
          }
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
        await kill9(seller)
        if (dropWhileDown) await test.dropTransaction({ hash })
        await test.setIntervalMining({ interval: 1 }) // 1-second blocks again, the seller still down
        if (dropWhileDown) {
          await new Promise((resolve) => setTimeout(resolve, 2_500)) // blocks pass without it
          expect(await chain.client.getTransaction({ hash }).catch(() => undefined)).toBeUndefined()
        } else {
          await new Promise((resolve) => setTimeout(resolve, 2_500)) // mined while the seller is down
          expect((await chain.client.getTransactionReceipt({ hash })).status).toBe('success')
        }

        seller = await startSellerProcess(config)
        addrs = seller.addrs
        const log = await outcome
        expect(log.error).toBeUndefined()
        expect(str(log.result!.body)).toBe('done:survive')
        expect(log.result!.settlement!.transaction).toBe(hash) // the very transaction signed before the kill
        await assertMoneyInvariant(chain, before, [log])
      } finally {
        await test.setIntervalMining({ interval: 1 })
        await kill9(seller)
        await buyer!.node.stop()
      }
      // The restarted seller's records: the call is done, nothing pending.
      const datastore = new LevelDatastore(join(dataDir, 'datastore'))
      await datastore.open()
      try {
        await assertMoneyInvariant(chain, new Map(), [], { datastore, settled: true })
      } finally {
        await datastore.close()
      }
    })
  }
})
