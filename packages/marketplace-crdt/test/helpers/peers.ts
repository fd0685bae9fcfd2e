import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { type ListingInput, MarketplaceDoc } from '../../src/core/marketplace-doc.ts'

export interface TestPeer {
  key: PrivateKey
  id: string
  market: MarketplaceDoc
}

/** A replica with a reproducible identity (its Ed25519 key is derived from `seed`). */
export async function testPeer(seed: number, now: () => number): Promise<TestPeer> {
  const key = await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(seed))
  const id = peerIdFromPrivateKey(key).toString()
  return { key, id, market: new MarketplaceDoc({ peerId: id, privateKey: key, now }) }
}

/** A plain listing input. */
export function fixedInput(id: string, ttlMs: number): ListingInput {
  return {
    id,
    multiaddrs: ['/ip4/127.0.0.1/tcp/4001'],
    protocols: ['/x402/libp2p/2.0.0'],
    resource: id,
    name: `Agent ${id}`,
    description: 'does things',
    capabilities: ['summarize'],
    price: {
      scheme: 'exact',
      network: 'eip155:31337',
      amount: '10000',
      asset: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
      payTo: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      maxTimeoutSeconds: 60,
      extra: { name: 'USD Coin', version: '2' }
    },
    ttlMs
  }
}
