/**
 * @packageDocumentation
 *
 * A bridge to the Go Betar prototype's marketplace (asabya/betar). A node running it reads Go's JSON announcements on
 * `betar/marketplace/listings` and answers and issues Go's `info` pull on `/betar/marketplace/1.0.0`, turning Go
 * listings into **unverified legacy listings** — labelled `legacy: true`, kept apart from signed listings, bounded and
 * expiring — and offers this node's own listings to Go peers in Go's JSON, byte for byte, so Go buyers find TS sellers.
 *
 * Go's holes are closed on our side: a legacy listing is only taken for the peer that signed its GossipSub message or
 * answered the stream (never for the `sellerId` the JSON names), a `delist` only removes the sender's own legacy
 * listing, and nothing Go sends can touch a signed listing.
 *
 * @example
 * ```ts
 * import { marketplace } from '@betar/marketplace-crdt'
 * import { legacyMarketplace } from '@betar/marketplace-crdt/legacy'
 *
 * const node = await createLibp2p({
 *   services: { pubsub: gossipsub(), market: marketplace(), legacy: legacyMarketplace() }
 * })
 * node.services.legacy.list() // [{ legacy: true, verified: false, seller, name, price, … }]
 * ```
 */
import { LegacyMarketplaceService } from './legacy.ts'
import type { LegacyMarketplace, LegacyMarketplaceComponents, LegacyMarketplaceInit } from './types.ts'

/** The bridge as a libp2p service. Needs GossipSub under `pubsub`; offers the listings of the `market` service. */
export function legacyMarketplace(
  init: LegacyMarketplaceInit = {}
): (components: LegacyMarketplaceComponents) => LegacyMarketplace {
  return (components) => new LegacyMarketplaceService(components, init)
}

export {
  GO_MAX_DATA_LENGTH,
  GO_MAX_TYPE_LENGTH,
  INFO_MESSAGE_TYPE,
  LEGACY_PROTOCOL,
  LEGACY_TOPIC,
  LEGACY_X402_PROTOCOL
} from './constants.ts'
export { goCompatible, toGoAnnouncement, toGoListing } from './convert.ts'
export { InvalidLegacyListingError, LegacyFrameError, LegacyInfoError, type LegacyRejectReason } from './errors.ts'
export { encodeRequest, encodeResponse, type LegacyRequest, readRequest, readResponse } from './frame.ts'
export type { LegacyListing } from './store.ts'
export type * from './types.ts'
export {
  decodeAnnouncement,
  decodeInfoReply,
  decodeListing,
  encodeAnnouncement,
  encodeInfoReply,
  encodeListing,
  type GoAgentListing,
  type GoAgentListingInput,
  type GoAgentListingMessage,
  type GoAgentListingMessageInput,
  GoAgentListingMessageSchema,
  GoAgentListingSchema,
  type InfoReply
} from './wire.ts'
