import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Devnet } from '@betar/devnet'
import { type BetarNode, buyService, type SoldAgent, sellAgent } from '@betar/node'
import type { ScoredFeedback, TagSummary } from '@betar/reputation'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nodeOn, startDevnet, textStatsAgent } from '../../../packages/node/test/fixtures.ts'
import { cliRunner } from './cli-harness.ts'

const PRICE = 250_000n
const TEXT = 'Scores must not depend on who is online. Proofs live on the chain.'
/** One scoring time for every scorer (a minute ahead of the devnet's blocks), so time decay is the same. */
const NOW = Date.now() + 60_000

const verdicts = (list: ScoredFeedback[]) => list.map((f) => [f.clientAddress, f.status, f.reason ?? null, f.paid])

describe('reputation does not depend on which peers are online', () => {
  let devnet: Devnet
  let dir: string
  let seller: BetarNode
  let sold: SoldAgent
  let agentId: bigint
  /** The score from Alice's and Bob's ratings (the first test). */
  let twoBuyers: TagSummary | undefined
  const stopped = new Set<BetarNode>()
  const nodes: BetarNode[] = []

  /** A buyer node (devnet account `index`) connected to the seller. */
  const buyer = async (index: number, init: Parameters<typeof nodeOn>[2] = {}) => {
    const node = await nodeOn(devnet, index, { bootstrap: seller.multiaddrs().map(String), ...init })
    nodes.push(node)
    return node
  }
  const stop = async (node: BetarNode) => {
    if (stopped.has(node)) return
    stopped.add(node)
    await node.stop()
  }

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 6 })
    dir = await mkdtemp(join(tmpdir(), 'betar-reputation-offline-'))
    seller = await nodeOn(devnet, 0)
    nodes.push(seller)
    sold = await sellAgent(seller, textStatsAgent)
    agentId = sold.registration.agentId
  }, 60_000)

  afterAll(async () => {
    for (const node of nodes) await stop(node)
    await devnet?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('two buyers rate, go offline, and a fresh scorer computes exactly the same score', async () => {
    const [alice, bob] = await Promise.all([buyer(1), buyer(2)])
    const bought = [
      await buyService(alice, 'text-analysis', TEXT, { maxPrice: PRICE, rating: 90 }),
      await buyService(bob, 'text-analysis', TEXT, { maxPrice: PRICE, rating: 55 })
    ]
    // The default storage: the feedback file is inside the transaction.
    for (const p of bought) expect(p.feedback?.result?.feedbackURI).toMatch(/^data:application\/json;base64,/)

    const scorer = await buyer(3, { bootstrap: [...alice.multiaddrs(), ...bob.multiaddrs()].map(String) })
    const online = await scorer.reputation.report(agentId, { now: NOW })
    expect(online.summary.starred).toMatchObject({ count: 2, entries: 2, paidVolume: 2n * PRICE, unverified: 0 })
    twoBuyers = online.summary.starred

    await Promise.all([stop(alice), stop(bob), stop(scorer)])
    const fresh = await buyer(3, { bootstrap: seller.multiaddrs().map(String) }) // new, empty datastore
    const offline = await fresh.reputation.report(agentId, { now: NOW })
    expect(offline.summary).toEqual(online.summary)
    expect(verdicts(offline.feedback)).toEqual(verdicts(online.feedback))

    // `betar reputation` from a fresh data dir, as a separate process, agrees (it scores at its own `now`).
    const devnetFile = join(dir, 'devnet.json')
    await writeFile(devnetFile, JSON.stringify(devnet.toJSON()))
    await mkdir(join(dir, 'cli'))
    const run = await cliRunner(devnetFile).cli([
      'reputation',
      agentId.toString(),
      '--json',
      '--data-dir',
      join(dir, 'cli')
    ])
    expect(run.code).toBe(0)
    const json = JSON.parse(run.stdout) as { summary: Record<string, TagSummary & { paidVolume: string }> }
    expect(json.summary.starred).toMatchObject({
      count: 2,
      entries: 2,
      paidVolume: (2n * PRICE).toString(),
      unverified: 0
    })
    expect(json.summary.starred?.score).toBeCloseTo(online.summary.starred?.score ?? 0, 2)
    expect(run.stderr).not.toContain('bitswap')
  }, 120_000)

  it('ipfs feedback: a scorer that verified it keeps the score after its holder leaves; one that never could reports it unverified', async () => {
    const carol = await buyer(4)
    const purchase = await buyService(carol, 'text-analysis', TEXT, {
      maxPrice: PRICE,
      rating: 20,
      feedbackStorage: 'node'
    })
    expect(purchase.feedback?.result?.feedbackURI).toMatch(/^ipfs:\/\//)

    // A scorer with a data dir fetches the file from Carol over bitswap and keeps the verified proof.
    const dataDir = join(dir, 'scorer')
    let scorer = await buyer(5, { dataDir, bootstrap: carol.multiaddrs().map(String) })
    const online = await scorer.reputation.report(agentId, { now: NOW })
    expect(online.summary.starred).toMatchObject({ count: 3, unverified: 0 })
    await stop(scorer)
    await stop(carol)

    // Restarted on the same data dir with Carol gone: the same score, from the datastore.
    scorer = await buyer(5, { dataDir })
    const again = await scorer.reputation.report(agentId, { now: NOW })
    expect(again.summary).toEqual(online.summary)
    expect(verdicts(again.feedback)).toEqual(verdicts(online.feedback))
    await stop(scorer) // it would serve the file it fetched

    // A scorer that never saw the file: reported as unverified, left out of the score — the two data: URI ratings only.
    const fresh = await buyer(3, { bootstrap: seller.multiaddrs().map(String) })
    const partial = await fresh.reputation.report(agentId, { now: NOW })
    const carolsEntry = partial.feedback.find((f) => f.clientAddress === carol.wallet.address)
    expect(carolsEntry).toMatchObject({ status: 'unverified', reason: 'unloadable', counted: false })
    expect(partial.summary.starred).toEqual({ ...twoBuyers, unverified: 1 })
  }, 120_000)
})
