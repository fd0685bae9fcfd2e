import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BetarNode, delistUnsold, sellAgent } from '../src/index.ts'
import { eventually, nodeOn, startDevnet, textStatsAgent } from './fixtures.ts'

/**
 * Issue 11 (hostile review): a seller restarted without one of its agents (renamed, removed, or refused by its health
 * check) withdraws the listing it restored from its datastore, so buyers stop finding a resource that is gone.
 */
describe('full node: listings of agents a restarted seller no longer sells', () => {
  let devnet: Awaited<ReturnType<typeof startDevnet>>
  let dir: string
  let seller: BetarNode | undefined
  let buyer: BetarNode | undefined

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 2 })
    dir = await mkdtemp(join(tmpdir(), 'betar-unsold-'))
  }, 60_000)
  afterAll(async () => {
    await buyer?.stop()
    await seller?.stop()
    await devnet?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('delists what it restored but does not sell now; buyers see only what is sold', async () => {
    const renamed = { ...textStatsAgent, name: 'old-name', capabilities: ['old-capability'] }
    seller = await nodeOn(devnet, 0, { dataDir: join(dir, 'seller') })
    await sellAgent(seller, textStatsAgent)
    await sellAgent(seller, renamed)
    await seller.stop()

    seller = await nodeOn(devnet, 0, { dataDir: join(dir, 'seller') })
    const sold = await sellAgent(seller, textStatsAgent)
    expect(
      seller.services.market
        .find({ sellers: [seller.peerId] })
        .map((l) => l.id)
        .sort()
    ).toEqual(['old-name', 'text-stats'])
    expect(await delistUnsold(seller, [sold.listing.id])).toEqual(['old-name'])
    expect(seller.services.market.find({ sellers: [seller.peerId] }).map((l) => l.id)).toEqual(['text-stats'])

    buyer = await nodeOn(devnet, 1, { bootstrap: seller.multiaddrs().map(String) })
    await eventually(() => buyer!.services.market.find({ capability: 'text-analysis' }).length === 1, 10_000, 'sync')
    expect(buyer.services.market.find({ capability: 'old-capability' })).toEqual([])
  }, 60_000)

  it('refuses an agent the marketplace would refuse before anything is registered', async () => {
    const node = seller ?? (await nodeOn(devnet, 0))
    const { publicClient } = node.clients
    const nonce = await publicClient.getTransactionCount({ address: node.wallet.address })
    const refused = await sellAgent(node, { ...textStatsAgent, name: 'upper', capabilities: ['Text'] }).catch(
      (e: unknown) => e
    )
    expect(refused).toMatchObject({ name: 'AgentsConfigError', issues: [{ path: 'capabilities[0]' }] })
    expect(await publicClient.getTransactionCount({ address: node.wallet.address })).toBe(nonce)
  })
})
