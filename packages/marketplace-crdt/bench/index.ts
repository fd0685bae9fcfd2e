import '../../../tools/polyfills.ts'
/**
 * Marketplace benchmarks (issue 4), one run on loopback:
 *  1. 1,000 listings published across 10 nodes until every node has all of them (target < 2 s);
 *  2. a late joiner's full sync of 10,000 listings (target < 1 s);
 *  3. memory per listing in a replica (target ≤ 2 KB);
 *  4. bytes of the update for one listing change;
 *  5. the worst event-loop stall while a replica receives 1 MiB hostile updates (target < 50 ms; bench/hostile.ts).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MarketplaceDoc } from '../src/index.ts'
import { createMarketNode, eventually, listingInput, type MarketNode } from '../test/fixtures/nodes.ts'
import { hostileUpdateStall } from './hostile.ts'

const gc = (globalThis as { gc?: () => void }).gc
const heap = (): number => {
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed
}
const results: Record<string, number> = {}

async function converge(): Promise<void> {
  const nodes: MarketNode[] = await Promise.all(
    Array.from({ length: 10 }, () => createMarketNode({ market: { provide: false } }))
  )
  try {
    // A connected mesh: each node dials the previous two.
    for (let i = 1; i < nodes.length; i++) {
      await nodes[i]!.dial(nodes[i - 1]!.getMultiaddrs())
      if (i > 1) await nodes[i]!.dial(nodes[i - 2]!.getMultiaddrs())
    }
    await new Promise((r) => setTimeout(r, 1_500)) // initial syncs and GossipSub meshes settle
    const t0 = performance.now()
    await Promise.all(
      // Each node publishes its catalogue of 100 agents (one signed update per node).
      nodes.map((node, n) =>
        node.services.market.publishMany(Array.from({ length: 100 }, (_, i) => listingInput(`n${n}-${i}`)))
      )
    )
    const published = performance.now() - t0
    await eventually(
      () => nodes.every((node) => node.services.market.find({ limit: 2_000 }).length === 1_000),
      30_000,
      'convergence'
    )
    results.convergeMs = Math.round(performance.now() - t0)
    results.publishMs = Math.round(published)
  } finally {
    await Promise.all(nodes.map((n) => n.stop()))
  }
}

async function lateJoinerAndMemory(): Promise<void> {
  const sellers = await Promise.all(
    Array.from({ length: 100 }, async () => {
      const key = await generateKeyPair('Ed25519')
      return new MarketplaceDoc({ peerId: peerIdFromPrivateKey(key).toString(), privateKey: key })
    })
  )
  const source = new MarketplaceDoc({ peerId: 'bench-source' })
  for (const seller of sellers) {
    const updates: Uint8Array[] = []
    seller.addEventListener('update', (e) => updates.push(e.detail.update))
    for (let i = 0; i < 100; i++)
      await seller.publish(
        listingInput(`l${i}`, { multiaddrs: ['/ip4/127.0.0.1/tcp/4001'], protocols: ['/x402/libp2p/2.0.0'] }) as never
      )
    for (const u of updates) source.applyRemote(u)
    updates.length = 0
  }
  const full = source.diff()
  results.fullStateBytes = full.byteLength
  results.fullStateBytesPerListing = Math.round(full.byteLength / 10_000)

  const before = heap()
  const late = new MarketplaceDoc({ peerId: 'bench-late' })
  const t0 = performance.now()
  await late.applyRemoteBulk(full, { maxUpdateSize: 64 * 1024 * 1024, maxStructs: 1_000_000 })
  results.lateJoinSyncMs = Math.round(performance.now() - t0)
  if (late.listings().length !== 10_000) throw new Error(`late joiner has ${late.listings().length} listings`)
  results.memoryBytesPerListing = Math.round((heap() - before) / 10_000)

  // One change to one listing: what goes on the wire.
  const seller = sellers[0]!
  let changeBytes = 0
  seller.addEventListener(
    'update',
    (e) => {
      changeBytes = e.detail.update.byteLength
    },
    { once: true }
  )
  await seller.publish(
    listingInput('l0', {
      name: 'renamed',
      multiaddrs: ['/ip4/127.0.0.1/tcp/4001'],
      protocols: ['/x402/libp2p/2.0.0']
    }) as never
  )
  results.updateBytesPerChange = changeBytes
  void late
}

await converge()
await lateJoinerAndMemory()
const hostile = await hostileUpdateStall()
results.hostileUpdateStallMs = hostile.worstMs
console.log(`marketplace bench (loopback, one run)
  1,000 listings across 10 nodes, converged everywhere: ${results.convergeMs} ms (publishing took ${results.publishMs} ms; target < 2000 ms)
  late joiner full sync of 10,000 listings:               ${results.lateJoinSyncMs} ms (${(results.fullStateBytes! / 1e6).toFixed(2)} MB, target < 1000 ms)
  memory per listing in a replica:                        ${results.memoryBytesPerListing} B (target ≤ 2048 B)
  update bytes for one listing change:                    ${results.updateBytesPerChange} B
  worst event-loop stall, 1 MiB hostile updates:          ${results.hostileUpdateStallMs} ms (target < 50 ms; ${JSON.stringify(hostile.byShape)})
BENCH_JSON ${JSON.stringify(results)}`)
process.exit(0)
