import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p, type Libp2p } from 'libp2p'
import * as Y from 'yjs'
import {
  type ListingInput,
  MARKETPLACE_SCORE_THRESHOLDS,
  type Marketplace,
  MarketplaceDoc,
  type MarketplaceInit,
  marketplace,
  marketplaceScoreParams
} from '../src/index.ts'
import { listingInput } from '../test/fixtures/listing.ts'

export type BenchNode = Libp2p<{ pubsub: ReturnType<ReturnType<typeof gossipsub>>; market: Marketplace }>

/**
 * A Betar-like node for benchmarks: TCP on 127.0.0.1, GossipSub scored as a Betar node's is, the marketplace; no DHT
 * (its random walks would add connections and noise). Every peer is on 127.0.0.1, so GossipSub's IP colocation
 * penalty is off, and the per-IP inbound connection rate limit is raised; the connection monitor is off.
 */
export async function benchNode(market: MarketplaceInit = {}): Promise<BenchNode> {
  return (await createLibp2p({
    datastore: new MemoryDatastore(),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { inboundConnectionThreshold: 10_000, maxIncomingPendingConnections: 1_000 },
    // All nodes share one event loop here: a busy moment would fail their pings and close connections (one node per
    // process, as deployed, has no such problem).
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        scoreParams: marketplaceScoreParams({ ipColocationFactorWeight: 0 }),
        scoreThresholds: MARKETPLACE_SCORE_THRESHOLDS
      }),
      market: marketplace({ provide: false, ...market })
    }
  })) as unknown as BenchNode
}

/** A seller's listing as in the tests, with one address and protocol (≈ 0.9 KB signed). */
export function benchListing(id: string): ListingInput {
  return listingInput(id, { multiaddrs: ['/ip4/127.0.0.1/tcp/4001'], protocols: ['/x402/libp2p/2.0.0'] })
}

/** `sellers × perSeller` listings signed by seeded keys, merged into one Yjs update (not validated here). */
export async function catalogue(sellers: number, perSeller: number): Promise<Uint8Array> {
  const updates: Uint8Array[] = []
  for (let s = 0; s < sellers; s++) {
    const seed = new Uint8Array(32)
    new DataView(seed.buffer).setUint32(0, s + 1)
    const key = await generateKeyPairFromSeed('Ed25519', seed)
    const seller = new MarketplaceDoc({ peerId: peerIdFromPrivateKey(key).toString(), privateKey: key })
    await seller.publishMany(Array.from({ length: perSeller }, (_, i) => benchListing(`s${s}-${i}`)))
    updates.push(seller.diff())
  }
  return Y.mergeUpdates(updates)
}

/** The current epoch's document of a node (benchmarks load state straight into it). */
export function currentDoc(node: BenchNode): MarketplaceDoc {
  const market = (node.services.market as unknown as { market: { epochOf(): number; doc(e: number): MarketplaceDoc } })
    .market
  return market.doc(market.epochOf())
}

/** Live listings a node holds, without `find`'s sorting. */
export function held(node: BenchNode): number {
  return (node.services.market as unknown as { market: { listings(): unknown[] } }).market.listings().length
}

export async function until(check: () => boolean, timeoutMs: number, what: string, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
