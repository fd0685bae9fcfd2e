import type { GossipSub } from '@libp2p/gossipsub'
import type {
  AbortOptions,
  ComponentLogger,
  ContentRouting,
  Libp2pEvents,
  PeerId,
  PrivateKey,
  Startable,
  TypedEventTarget
} from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Datastore } from 'interface-datastore'
import type { Listing } from '../core/listing.ts'
import type { ListingInput, MarketplaceDocEvents } from '../core/marketplace-doc.ts'

/** The slice of GossipSub the marketplace uses. */
export type MarketplacePubSub = Pick<GossipSub, 'topicValidators' | 'subscribe' | 'unsubscribe' | 'publish'>

export interface MarketplaceInit {
  /** GossipSub topic prefix carrying CRDT updates; the epoch number is appended. @default 'betar/marketplace/crdt/1' */
  topic?: string
  /**
   * Length of a marketplace epoch, which is also the longest a listing may live. A node keeps only the current and the
   * previous epoch, which bounds its state. Every node of one marketplace must use the same value. @default 24 h
   */
  epochMs?: number
  /** Stream protocol for state sync on connect. @default '/betar/marketplace/sync/1.0.0' */
  syncProtocol?: string
  /** Lifetime of this node's listings; they are refreshed at half of it. @default 10 minutes */
  listingTtlMs?: number
  /** How often expired entries are collected. @default 60000 */
  gcIntervalMs?: number
  /** Largest update from gossip. @default 1 MiB */
  maxUpdateSize?: number
  /** Largest state transferred by a sync. @default 64 MiB */
  maxSyncSize?: number
  /** Time limit of one sync exchange. @default 15000 */
  syncTimeoutMs?: number
  /** Provide capability records on the DHT (needs a content router). @default true */
  provide?: boolean
  /**
   * Dial peers that peer discovery (e.g. mDNS on the LAN) reports, so the marketplace syncs with them — libp2p does not
   * dial discovered peers by itself. @default true
   */
  dialDiscovered?: boolean
}

export interface MarketplaceComponents {
  peerId: PeerId
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  addressManager: AddressManager
  datastore: Datastore
  logger: ComponentLogger
  events: TypedEventTarget<Libp2pEvents>
  /** A GossipSub service registered under the name `pubsub`. */
  pubsub: MarketplacePubSub
  contentRouting: ContentRouting
}

/** What `find` filters on. */
export interface FindOptions extends AbortOptions {
  /** A capability tag the listing must declare. */
  capability?: string
  /** Highest price in atomic units. */
  maxPrice?: bigint
  /** Case-insensitive text searched in name and description. */
  text?: string
  /** Only these sellers (peer ids). */
  sellers?: string[]
  /** @default 100 */
  limit?: number
}

/** This node's listing as the seller writes it: multiaddrs and protocols default to the node's own. */
export type PublishInput = Omit<ListingInput, 'multiaddrs' | 'protocols'> &
  Partial<Pick<ListingInput, 'multiaddrs' | 'protocols'>>

export type MarketplaceEvents = Pick<MarketplaceDocEvents, 'listing:added' | 'listing:updated' | 'listing:removed'>

/** The marketplace as a libp2p service. */
export interface Marketplace extends TypedEventTarget<MarketplaceEvents>, Startable {
  /** Signs, publishes and keeps refreshing one of this node's listings; provides its capabilities on the DHT. */
  publish(input: PublishInput, options?: AbortOptions): Promise<Listing>
  /** Publishes several listings as one update (one GossipSub message). */
  publishMany(inputs: readonly PublishInput[], options?: AbortOptions): Promise<Listing[]>
  /** Withdraws one of this node's listings now. */
  delist(id: string, options?: AbortOptions): Promise<void>
  /** Live listings matching the filters, cheapest first. */
  find(options?: FindOptions): Listing[]
  /** One live listing by `<seller>/<id>`. */
  get(key: string): Listing | undefined
  /** Asks the DHT who provides `capability`, syncs with them, and returns the matching listings. */
  findSellers(capability: string, options?: FindOptions): Promise<Listing[]>
  /** Exchanges state with one peer now (also done on every new connection). */
  sync(peer: PeerId, options?: AbortOptions): Promise<void>
}
