import type { GossipSub } from '@libp2p/gossipsub'
import type { TopicScoreParams } from '@libp2p/gossipsub/score'
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

/**
 * The slice of GossipSub the marketplace uses. `score` is the GossipSub class's peer score (not on its public
 * interface): when present, the marketplace installs its topics' score parameters there as it joins them.
 */
export type MarketplacePubSub = Pick<GossipSub, 'topicValidators' | 'subscribe' | 'unsubscribe' | 'publish'> & {
  score?: { params: { topics: Record<string, TopicScoreParams> } }
}

export interface MarketplaceInit {
  /** GossipSub topic prefix carrying CRDT updates; the epoch number is appended. @default 'betar/marketplace/crdt/1' */
  topic?: string
  /**
   * Length of a marketplace epoch, which is also the longest a listing may live. A node keeps only the current and the
   * previous epoch, which bounds its state. Every node of one marketplace must use the same value. @default 24 h
   */
  epochMs?: number
  /** Stream protocol for state sync on connect. @default '/betar/marketplace/sync/2.0.0' */
  syncProtocol?: string
  /** Lifetime of this node's listings; they are refreshed at half of it. @default 10 minutes */
  listingTtlMs?: number
  /** How often expired entries are collected. @default 60000 */
  gcIntervalMs?: number
  /**
   * Largest update from gossip; publishing splits a catalogue into updates of an eighth of it at most. @default 1 MiB
   */
  maxUpdateSize?: number
  /** Most chunk bytes one sync may deliver (100,000 fresh listings are ≈ 90 MB). @default 256 MiB */
  maxSyncSize?: number
  /** A sync sends an epoch's state in chunks of about this many bytes (whole sellers each). @default 128 KiB */
  syncChunkSize?: number
  /** Largest sync frame accepted or sent; also bounds one seller's synced state. @default 2 MiB */
  maxSyncFrameSize?: number
  /** Time limit of one whole sync exchange. @default 60000 */
  syncTimeoutMs?: number
  /** A sync whose peer sends nothing for this long is dropped. @default 10000 */
  syncIdleTimeoutMs?: number
  /** Inbound syncs served at once (across peers); more are answered BUSY. @default 4 */
  maxConcurrentSyncs?: number
  /** Inbound syncs one peer may start in a burst; then one per `syncRefillMs`. @default 4 */
  syncBurst?: number
  /** See `syncBurst`. @default 15000 */
  syncRefillMs?: number
  /**
   * GossipSub score parameters for each marketplace topic, merged over `MARKETPLACE_TOPIC_SCORE_PARAMS` (invalid
   * updates penalised; graylisted after 10). `false` leaves the topics unscored. @default {}
   */
  topicScoreParams?: Partial<TopicScoreParams> | false
  /** `findSellers`: how long each provider has to connect and start answering. @default 3000 */
  providerTimeoutMs?: number
  /** `findSellers`: how long a provider that delivered no valid listing is skipped. @default 10 minutes */
  providerBackoffMs?: number
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

/** What one sync exchanged. Chunks refused by validation are counted, not hidden. */
export interface SyncResult {
  /** Epochs both sides hold, which were exchanged. */
  epochs: number[]
  /** Chunks received and applied. */
  applied: number
  /** Chunks received and refused whole by validation: none of their entries were applied. */
  rejected: number
  /** Entries of applied chunks that validation left out (invalid, stale, over quota, or lacking history). */
  dropped?: number
  /** Chunk bytes received. */
  bytesReceived: number
  chunksSent: number
  bytesSent: number
  /** Chunks left out of what we sent because they exceeded a frame (one key's chain never does). */
  skippedChunks?: number
}

/** `findSellers` options: the filters of `find`, and the overall time limit (the signal). */
export interface FindSellersOptions extends FindOptions {
  /** How long each provider has to connect and start answering. @default the service's `providerTimeoutMs` */
  providerTimeoutMs?: number
}

/** This node's listing as the seller writes it: multiaddrs and protocols default to the node's own. */
export type PublishInput = Omit<ListingInput, 'multiaddrs' | 'protocols'> &
  Partial<Pick<ListingInput, 'multiaddrs' | 'protocols'>>

export type MarketplaceEvents = Pick<MarketplaceDocEvents, 'listing:added' | 'listing:updated' | 'listing:removed'>

/** The marketplace as a libp2p service. */
export interface Marketplace extends TypedEventTarget<MarketplaceEvents>, Startable {
  /** Signs, publishes and keeps refreshing one of this node's listings; provides its capabilities on the DHT. */
  publish(input: PublishInput, options?: AbortOptions): Promise<Listing>
  /** Publishes several listings, as updates of at most an eighth of `maxUpdateSize` each (one gossip message each). */
  publishMany(inputs: readonly PublishInput[], options?: AbortOptions): Promise<Listing[]>
  /** Withdraws one of this node's listings now. */
  delist(id: string, options?: AbortOptions): Promise<void>
  /** Live listings matching the filters, cheapest first. */
  find(options?: FindOptions): Listing[]
  /** One live listing by `<seller>/<id>`. */
  get(key: string): Listing | undefined
  /**
   * Asks the DHT who provides `capability`, syncs with the providers in parallel (each with a short deadline), and
   * returns the matching listings it holds then. Providers that delivered no valid listing are skipped for a while.
   */
  findSellers(capability: string, options?: FindSellersOptions): Promise<Listing[]>
  /** Exchanges state with one peer now (also done on every new connection). */
  sync(peer: PeerId, options?: AbortOptions): Promise<SyncResult>
}
