import { MarketplaceService } from './marketplace.ts'
import type { Marketplace, MarketplaceComponents, MarketplaceInit } from './types.ts'

/**
 * The marketplace as a libp2p service: CRDT updates over GossipSub (a topic validator applies valid ones and rejects
 * forged ones, which are then not forwarded), state sync on every new connection, the document persisted in the node's
 * datastore, listings refreshed and expired ones collected, capability records on the DHT.
 *
 * Needs a GossipSub service named `pubsub` (with `allowPublishToZeroTopicPeers: true`) and, for `findSellers`, a
 * content router such as `@libp2p/kad-dht`.
 */
export function marketplace(init: MarketplaceInit = {}): (components: MarketplaceComponents) => Marketplace {
  return (components) => new MarketplaceService(components, init)
}

export { CAPABILITY_NAMESPACE, capabilityCid } from './capability.ts'
export type * from './types.ts'
