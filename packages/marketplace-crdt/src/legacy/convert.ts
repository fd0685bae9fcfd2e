import type { Listing } from '../core/listing.ts'
import { LEGACY_X402_PROTOCOL } from './constants.ts'
import type { GoAgentListingInput, GoAgentListingMessageInput } from './wire.ts'

/**
 * Whether a Go buyer can use one of our listings: it must be callable over Go's `/x402/libp2p/1.0.0`. Go buyers pay in
 * USDC (6 decimals) and read `price` as USDC, so the price is shown as `amount / 1e6`.
 */
export function goCompatible(listing: Listing): boolean {
  return listing.protocols.includes(LEGACY_X402_PROTOCOL)
}

/** Go writes `host.Addrs()`: multiaddrs without the `/p2p/<id>` suffix. */
function withoutPeerId(addr: string, seller: string): string {
  const suffix = `/p2p/${seller}`
  return addr.endsWith(suffix) ? addr.slice(0, -suffix.length) : addr
}

/**
 * One of our signed listings as a Go `AgentListing`. Its id is `<seller>/<resource>`, the form Go's SDK writes: a Go
 * buyer strips the `<seller>/` prefix and calls the rest as the x402 `resource`, which is our listing's `resource`.
 */
export function toGoListing(listing: Listing): GoAgentListingInput {
  return {
    id: `${listing.seller}/${listing.resource}`,
    name: listing.name,
    price: Number(listing.price.amount) / 1e6,
    metadata: '',
    sellerId: listing.seller,
    addrs: listing.multiaddrs.map((a) => withoutPeerId(a, listing.seller)),
    protocols: [LEGACY_X402_PROTOCOL],
    timestamp: Math.floor(listing.updatedAt / 1000),
    ...(listing.erc8004 != null ? { tokenId: listing.erc8004.agentId } : {})
  }
}

/** One of our signed listings as a Go announcement (`list`, or `delist` when it was withdrawn). */
export function toGoAnnouncement(listing: Listing, type: 'list' | 'delist' = 'list'): GoAgentListingMessageInput {
  const { id, ...rest } = toGoListing(listing)
  return { type, agentId: id, ...rest }
}
