import { MarketplaceService } from './marketplace.ts'
import type { Marketplace, MarketplaceComponents, MarketplaceInit } from './types.ts'

/**
 * The marketplace as a libp2p service: CRDT updates over GossipSub (a topic validator applies valid ones and rejects
 * forged ones, which are then not forwarded), state sync on every new connection, the document persisted in the node's
 * datastore, listings refreshed and expired ones collected, capability records on the DHT.
 *
 * Needs a GossipSub service named `pubsub` (with `allowPublishToZeroTopicPeers: true`) and, for `findSellers`, a
 * content router such as `@libp2p/kad-dht`. The marketplace installs GossipSub score parameters for its topics (invalid
 * updates penalised, graylisted after 10); configure GossipSub with `MARKETPLACE_SCORE_THRESHOLDS` and
 * `marketplaceScoreParams()` so the numbers hold.
 */
export function marketplace(init: MarketplaceInit = {}): (components: MarketplaceComponents) => Marketplace {
  return (components) => new MarketplaceService(components, init)
}

export { CAPABILITY_NAMESPACE, capabilityCid } from './capability.ts'
export { SYNC_PROTOCOL } from './constants.ts'
export { SyncRefusedError } from './errors.ts'
export {
  INVALID_UPDATES_TO_GRAYLIST,
  MARKETPLACE_SCORE_THRESHOLDS,
  MARKETPLACE_TOPIC_SCORE_PARAMS,
  marketplaceScoreParams
} from './scoring.ts'
export type * from './types.ts'
