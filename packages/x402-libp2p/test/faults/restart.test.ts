import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { LevelDatastore } from 'datastore-level'
import { createTestClient, type Hash, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { PRICE, startBuyers, str, text } from './harness.ts'
import { assertMoneyInvariant, balances, callUntilOutcome } from './money.ts'

/**
 * Issue case 3: the seller process is killed (`kill -9`) after its settlement transaction reached the pool and before
 * a block included it, on a chain with 1-second blocks — and, in the second case, the transaction is dropped from the
 * pool while the seller is down. The restarted seller (same key, same LevelDB) finds the settlement in its call
 * record, resolves it from the chain (its receipt, or a re-broadcast of the stored raw transaction), runs the handler
 * and answers the buyer's re-ask with the result. The buyer is charged once.
 */
const tsx = createRequire(import.meta.url).resolve('tsx')
const script = fileURLToPath(new URL('./seller-process.ts', import.meta.url))

interface SellerProcess {
  child: ChildProcess
  addrs: Multiaddr[]
  /** Resolves with the first event line named `event` (and matching `filter`). */
  next(event: string, filter?: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>
}

function startSellerProcess(config: Record<string, unknown>): Promise<SellerProcess> {
  const child = spawn(process.execPath, ['--conditions=@betar/source', '--import', tsx, script], {
    env: { ...process.env, BETAR_TEST_SELLER: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const lines: Array<Record<string, unknown>> = []
  const waiters: Array<{
    event: string
    filter: (l: Record<string, unknown>) => boolean
    resolve: (l: Record<string, unknown>) => void
  }> = []
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  createInterface({ input: child.stdout! }).on('line', (raw) => {
    let line: Record<string, unknown>
    try {
      line = JSON.parse(raw) as Record<string, unknown>
    } catch {
      return
    }
    lines.push(line)
    for (const w of [...waiters]) {
      if (w.event === line.event && w.filter(line)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(line)
      }
    }
  })
  const next = (event: string, filter: (l: Record<string, unknown>) => boolean = () => true) => {
    const seen = lines.find((l) => l.event === event && filter(l))
    if (seen != null) return Promise.resolve(seen)
    return new Promise<Record<string, unknown>>((resolve) => waiters.push({ event, filter, resolve }))
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`seller did not start: ${stderr}`)), 30_000)
    child.once('exit', (code) => reject(new Error(`seller exited (${code}): ${stderr}`)))
    void next('ready').then((ready) => {
      clearTimeout(timer)
      resolve({ child, addrs: (ready.addrs as string[]).map((a) => multiaddr(a)), next })
    })
  })
}

function kill9(seller: SellerProcess): Promise<void> {
  if (seller.child.exitCode != null || seller.child.signalCode != null) return Promise.resolve()
  return new Promise((resolve) => {
    seller.child.once('exit', () => resolve())
    seller.child.kill('SIGKILL')
  })
}

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
