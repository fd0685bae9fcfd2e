import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Listing } from '@betar/marketplace-crdt'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { LevelDatastore } from 'datastore-level'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyWorkflowReceipt, type WorkflowDefinition, type WorkflowRecord } from '../src/index.ts'
import { WorkflowStore } from '../src/store.ts'
import { type Chain, createSeller, json, parse, type SellerNode, sell, startChain } from './fixtures/nodes.ts'

const tsx = createRequire(import.meta.url).resolve('tsx')
const script = join(import.meta.dirname, 'fixtures', 'buyer-process.ts')

interface Child {
  child: ChildProcess
  events: Array<{ event: string; record?: WorkflowRecord }>
  waitFor(check: (e: { event: string; record?: WorkflowRecord }) => boolean, timeoutMs?: number): Promise<void>
  exited: Promise<number | null>
}

function startBuyer(config: Record<string, unknown>): Child {
  const child = spawn(process.execPath, ['--conditions=@betar/source', '--import', tsx, script], {
    env: { ...process.env, WORKFLOW_BUYER_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const events: Child['events'] = []
  const waiters = new Set<() => void>()
  let buffer = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString()
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      events.push(JSON.parse(buffer.slice(0, i)))
      buffer = buffer.slice(i + 1)
      for (const w of waiters) w()
    }
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  return {
    child,
    events,
    exited,
    waitFor: (check, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const done = () => {
          if (events.some(check)) {
            waiters.delete(done)
            clearTimeout(timer)
            resolve()
          }
        }
        const timer = setTimeout(() => {
          waiters.delete(done)
          reject(new Error(`timed out; child stderr: ${stderr.slice(-2000)}`))
        }, timeoutMs)
        waiters.add(done)
        done()
      })
  }
}

/**
 * The buyer node is a separate process, killed with SIGKILL while step 2's paid call is in the seller's handler (its
 * payment settled), then started again on the same LevelDB and key: the workflow resumes, step 2 is re-asked under its
 * correlation id (not paid again), step 1 is not run again, and step 3 (never started) runs.
 */
describe('a workflow resumes after its buyer is killed', () => {
  let chain: Chain
  let seller: SellerNode
  let dir: string
  const runs = { a: 0, b: 0, c: 0 }
  let entered: () => void = () => {}
  let release: () => void = () => {}
  const bEntered = new Promise<void>((r) => {
    entered = r
  })
  const gate = new Promise<void>((r) => {
    release = r
  })

  beforeAll(async () => {
    chain = await startChain(3)
    seller = await createSeller(chain, chain.devnet.accounts[0]!)
    dir = await mkdtemp(join(tmpdir(), 'betar-workflow-'))
  })
  afterAll(async () => {
    await seller?.stop()
    await chain?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('pays no step twice: USDC debited = Σ price of the results received', async () => {
    const payTo = chain.devnet.accounts[0]!.address
    const listings: Listing[] = [
      sell(seller, chain, payTo, {
        id: 'a',
        capability: 'step-a',
        price: 110_000n,
        handler: (req) => {
          runs.a++
          return json({ n: (parse(req.body) as { n: number }).n + 1 })
        }
      }),
      sell(seller, chain, payTo, {
        id: 'b',
        capability: 'step-b',
        price: 120_000n,
        handler: async (req) => {
          runs.b++
          entered()
          await gate
          return json({ n: (parse(req.body) as number) * 10 })
        }
      }),
      sell(seller, chain, payTo, {
        id: 'c',
        capability: 'step-c',
        price: 130_000n,
        handler: (req) => {
          runs.c++
          return json(`n=${parse(req.body) as number}`)
        }
      })
    ]
    const definition: WorkflowDefinition = {
      input: { n: 1 },
      budget: '500000',
      steps: [
        { id: 'a', capability: 'step-a', maxPrice: '110000' },
        { id: 'b', capability: 'step-b', input: { $ref: '/steps/a/output/n' }, maxPrice: '120000' },
        { id: 'c', capability: 'step-c', input: { $ref: '/steps/b/output/n' }, maxPrice: '130000' }
      ]
    }
    const buyerAccount = chain.devnet.accounts[1]!
    const config = {
      rpcUrl: chain.devnet.rpcUrl,
      chainId: chain.devnet.chainId,
      asset: chain.asset,
      walletKey: buyerAccount.privateKey,
      peerKey: Buffer.from(privateKeyToProtobuf(await generateKeyPair('Ed25519'))).toString('base64'),
      dataDir: join(dir, 'buyer'),
      listings,
      workflowId: 'resume-me'
    }
    const before = await chain.balance(buyerAccount.address)

    const first = startBuyer({ ...config, definition })
    await first.waitFor((e) => e.event === 'submitted')
    await bEntered
    first.child.kill('SIGKILL')
    expect(await first.exited).toBe(null)
    // Step b was paid (its handler runs after settlement): the seller finishes it and keeps the result for a re-ask.
    release()
    // What the killed node had written to its datastore.
    const datastore = new LevelDatastore(config.dataDir)
    await datastore.open()
    const killedAt = await new WorkflowStore(datastore).get('resume-me')
    await datastore.close()
    expect(killedAt?.steps.a?.status).toBe('completed')
    expect(killedAt?.steps.b?.status).toBe('running')
    expect(killedAt?.steps.c?.status).toBe('pending')

    const second = startBuyer(config)
    await second.waitFor((e) => e.event === 'ended', 90_000)
    expect(await second.exited).toBe(0)
    const record = second.events.find((e) => e.event === 'ended')!.record!
    expect(record.status).toBe('completed')
    expect(record.steps.c?.output).toBe('n=20')
    // Each handler ran once; step b's single attempt kept its correlation id across the restart.
    expect(runs).toEqual({ a: 1, b: 1, c: 1 })
    expect(record.steps.b?.attempts).toHaveLength(1)
    expect(record.steps.b?.attempts[0]?.correlationId).toBe(killedAt?.steps.b?.attempts[0]?.correlationId)
    // The money invariant: debited = Σ price of the results received − refunds (none here).
    const prices = 110_000n + 120_000n + 130_000n
    expect(BigInt(record.spent)).toBe(prices)
    expect(await chain.balance(buyerAccount.address)).toBe(before - prices)
    // One settlement per step, each found on-chain.
    expect(record.receipt.map((e) => e.stepId)).toEqual(['a', 'b', 'c'])
    expect(new Set(record.receipt.map((e) => e.settlementTx)).size).toBe(3)
    const verified = await verifyWorkflowReceipt(
      {
        v: 1,
        workflowId: record.id,
        definitionHash: record.definitionHash,
        network: record.network,
        asset: record.asset as `0x${string}`,
        budget: record.budget,
        spent: record.spent,
        status: record.status,
        genesis: record.receipt[0]!.prev,
        entries: record.receipt,
        head: record.receipt.at(-1)!.hash
      },
      chain.client
    )
    expect(verified).toEqual({ ok: true, issues: [], spent: prices })
  })
})
