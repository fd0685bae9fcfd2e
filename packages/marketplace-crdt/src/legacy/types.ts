import type { GossipSub } from '@libp2p/gossipsub'
import type { AbortOptions, ComponentLogger, PeerId, Startable, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Listing } from '../core/listing.ts'
import type { MarketplaceEvents } from '../service/types.ts'
import type { LegacyRejectReason } from './errors.ts'
import type { LegacyListing } from './store.ts'

/** The slice of GossipSub the bridge uses. */
export type LegacyPubSub = Pick<GossipSub, 'topicValidators' | 'subscribe' | 'unsubscribe' | 'publish'>

/** Where the bridge reads this node's own signed listings: the `@betar/marketplace` service. */
export interface LegacyListingSource extends TypedEventTarget<MarketplaceEvents> {
  find(options?: { sellers?: string[]; limit?: number }): Listing[]
}

export interface LegacyMarketplaceInit {
  /** GossipSub topic of Go's announcements. @default 'betar/marketplace/listings' */
  topic?: string
  /** Go's request/response protocol. @default '/betar/marketplace/1.0.0' */
  protocol?: string
  /**
   * Name of the `@betar/marketplace` service whose own listings are offered to Go peers; `false` offers none.
   * @default 'market'
   */
  marketService?: string | false
  /** Announce this node's listings in Go's format (those callable over `/x402/libp2p/1.0.0`). @default true */
  announce?: boolean
  /** How often they are re-announced, as Go does every 30 s. @default 30000 */
  announceIntervalMs?: number
  /** Ask every newly connected peer that speaks Go's protocol for its listings (`info`). @default true */
  pullOnConnect?: boolean
  /** How long a legacy listing lives unless heard again. @default 5 minutes */
  ttlMs?: number
  /** Largest announcement read (checked before parsing). @default 16 KiB */
  maxAnnouncementSize?: number
  /** Largest `info` reply read (checked from its length header). @default 1 MiB */
  maxInfoReplySize?: number
  /** Most elements of an `info` reply validated. @default 1024 */
  maxInfoListings?: number
  /** Legacy listings kept per seller. @default 64 */
  maxListingsPerPeer?: number
  /** Legacy listings kept in all. @default 4096 */
  maxListings?: number
  /** Announcements per originating peer in a burst, then one per `announceRefillMs`. @default 32 */
  announceBurst?: number
  /** @default 1000 */
  announceRefillMs?: number
  /** A peer is pulled at most once per this interval. @default 60000 */
  pullIntervalMs?: number
  /** `info` pulls running at once. @default 4 */
  maxConcurrentPulls?: number
  /** Time limit of one `info` pull. @default 10000 */
  pullTimeoutMs?: number
  /** `info` requests served per peer in a burst, then one per `serveRefillMs`. @default 4 */
  serveBurst?: number
  /** @default 10000 */
  serveRefillMs?: number
}

export interface LegacyMarketplaceComponents {
  peerId: PeerId
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
  /** A GossipSub service registered under the name `pubsub` (message signing on, as Go's `StrictSign`). */
  pubsub: LegacyPubSub
}

/** What `list` filters on. */
export interface LegacyFindOptions {
  /** Case-insensitive text searched in the name. */
  text?: string
  /** Only these sellers (peer ids). */
  sellers?: string[]
  /** Highest price in USDC atomic units. */
  maxPrice?: bigint
  /** @default 100 */
  limit?: number
}

/** A Go-format message that was refused: by whom (the authenticated peer), and why. */
export interface LegacyRejection {
  peer: string
  reason: LegacyRejectReason | 'rate' | 'unsigned'
  message: string
}

export interface LegacyMarketplaceEvents {
  'legacy:added': CustomEvent<LegacyListing>
  'legacy:updated': CustomEvent<LegacyListing>
  'legacy:removed': CustomEvent<LegacyListing>
  'legacy:rejected': CustomEvent<LegacyRejection>
}

/** The bridge to Go Betar marketplaces, as a libp2p service. */
export interface LegacyMarketplace extends TypedEventTarget<LegacyMarketplaceEvents>, Startable {
  /** Live legacy listings matching the filters, cheapest first. All are unverified. */
  list(options?: LegacyFindOptions): LegacyListing[]
  /** One live legacy listing by `<seller>/<agentId>`. */
  get(key: string): LegacyListing | undefined
  /** Asks a peer for its listings now (Go's `info`); returns the ones accepted (the peer's own). */
  pull(peer: PeerId, options?: AbortOptions): Promise<LegacyListing[]>
  /** Announces this node's Go-compatible listings now; returns how many were published. */
  announce(): Promise<number>
  /** Refused messages so far, by reason. */
  readonly rejected: Readonly<Record<string, number>>
}
