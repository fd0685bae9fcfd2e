/**
 * @packageDocumentation
 *
 * The Betar marketplace: every agent for sale as a listing signed by its seller's libp2p key, replicated as a Yjs
 * document in which a peer can only create, update and delete its own entries — enforced on every remote update
 * before it is applied (see docs/marketplace-threat-model.md).
 *
 * @example
 * ```ts
 * import { MarketplaceDoc } from '@betar/marketplace-crdt'
 *
 * const market = new MarketplaceDoc({ peerId: node.peerId.toString(), privateKey })
 * market.addEventListener('update', (e) => broadcast(e.detail.update))
 * await market.publish({ id: 'summarizer', name: 'Summarizer', … })
 * market.applyRemote(updateFromAPeer) // throws RejectedUpdateError on a forged write
 * ```
 */

// First: installs the Node 20 shims (see node20.ts) before anything else runs.
import './node20.ts'

export type { ApplyOptions, ApplyResult } from './core/apply-remote.ts'
export { clientIdOf, entryClientId } from './core/client-id.ts'
export {
  canonical,
  MAX_ENVELOPE_SIZE,
  type SignedRecord,
  signRecord,
  signRecords,
  verifyRecord
} from './core/envelope.ts'
export {
  type Delisting,
  DelistingSchema,
  LISTING_SCHEMA_VERSION,
  type Listing,
  type ListingPrice,
  ListingPriceSchema,
  type ListingRecord,
  ListingSchema,
  listingKey,
  MAX_LISTING_TTL_MS
} from './core/listing.ts'
export {
  DEFAULT_VALIDATION,
  type EpochWindow,
  type ListingInput,
  MarketplaceDoc,
  type MarketplaceDocEvents,
  type MarketplaceDocInit,
  REMOTE
} from './core/marketplace-doc.ts'
export {
  type DropKind,
  type DroppedEntry,
  LISTINGS_MAP,
  type ValidatedUpdate,
  type ValidationOptions
} from './core/validate.ts'
export { validateUpdate } from './core/validate-plain.ts'
export { InvalidListingError, RejectedUpdateError } from './errors.ts'
export {
  CAPABILITY_NAMESPACE,
  capabilityCid,
  INVALID_UPDATES_TO_GRAYLIST,
  MARKETPLACE_SCORE_THRESHOLDS,
  MARKETPLACE_TOPIC_SCORE_PARAMS,
  marketplace,
  marketplaceScoreParams,
  SYNC_PROTOCOL,
  SyncRefusedError
} from './service/index.ts'
export type * from './service/types.ts'
