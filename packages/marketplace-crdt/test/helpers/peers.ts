import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { type ListingInput, MarketplaceDoc } from '../../src/core/marketplace-doc.ts'
import { listingInput } from '../fixtures/listing.ts'

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

/** A plain listing input with a given lifetime. */
export function fixedInput(id: string, ttlMs: number): ListingInput {
  return listingInput(id, { ttlMs })
}
