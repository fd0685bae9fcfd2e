import type { Message } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import {
  type AbortOptions,
  type Connection,
  type Logger,
  type PeerId,
  type Stream,
  serviceCapabilities,
  serviceDependencies,
  TypedEventEmitter
} from '@libp2p/interface'
import type { Listing } from '../core/listing.ts'
import { RateLimiter } from '../service/rate-limit.ts'
import {
  DEFAULT_ANNOUNCE_BURST,
  DEFAULT_ANNOUNCE_INTERVAL_MS,
  DEFAULT_ANNOUNCE_REFILL_MS,
  DEFAULT_LEGACY_TTL_MS,
  DEFAULT_MAX_ANNOUNCEMENT_SIZE,
  DEFAULT_MAX_CONCURRENT_PULLS,
  DEFAULT_MAX_INFO_LISTINGS,
  DEFAULT_MAX_INFO_REPLY_SIZE,
  DEFAULT_MAX_LISTINGS,
  DEFAULT_MAX_LISTINGS_PER_PEER,
  DEFAULT_PULL_INTERVAL_MS,
  DEFAULT_PULL_TIMEOUT_MS,
  DEFAULT_SERVE_BURST,
  DEFAULT_SERVE_REFILL_MS,
  INFO_MESSAGE_TYPE,
  LEGACY_PROTOCOL,
  LEGACY_TOPIC,
  MAX_INBOUND_STREAMS,
  MAX_OUTBOUND_STREAMS,
  MAX_REQUEST_DATA_LENGTH
} from './constants.ts'
import { goCompatible, toGoAnnouncement, toGoListing } from './convert.ts'
import { InvalidLegacyListingError } from './errors.ts'
import { encodeRequest, encodeResponse, readRequest, readResponse } from './frame.ts'
import { type GoListingFields, type LegacyListing, LegacyStore } from './store.ts'
import type {
  LegacyFindOptions,
  LegacyListingSource,
  LegacyMarketplace,
  LegacyMarketplaceComponents,
  LegacyMarketplaceEvents,
  LegacyMarketplaceInit,
  LegacyRejection
} from './types.ts'
import { decodeAnnouncement, decodeInfoReply, encodeAnnouncement, encodeInfoReply } from './wire.ts'

const utf8 = new TextEncoder()

/** @internal — use the {@link legacyMarketplace} factory. */
export class LegacyMarketplaceService extends TypedEventEmitter<LegacyMarketplaceEvents> implements LegacyMarketplace {
  readonly [Symbol.toStringTag] = '@betar/marketplace-legacy'
  readonly [serviceCapabilities]: string[] = ['@betar/marketplace-legacy']
  readonly [serviceDependencies]: string[] = ['@libp2p/pubsub']

  private readonly components: LegacyMarketplaceComponents
  private readonly log: Logger
  private readonly topic: string
  private readonly protocol: string
  private readonly marketService: string | false
  private readonly announceOwn: boolean
  private readonly announceIntervalMs: number
  private readonly pullOnConnect: boolean
  private readonly maxAnnouncementSize: number
  private readonly maxInfoReplySize: number
  private readonly maxInfoListings: number
  private readonly pullIntervalMs: number
  private readonly maxConcurrentPulls: number
  private readonly pullTimeoutMs: number
  private readonly store: LegacyStore
  private readonly announcements: RateLimiter
  private readonly serving: RateLimiter
  private readonly lastPull = new Map<string, number>()
  /**
   * Sellers with signed listings here, and those listings' ids: such a seller is a Betar node whose bridge also speaks
   * Go's format, and its signed listings are authoritative — its Go-format copies are not shown as legacy listings.
   */
  private readonly signedSellers = new Map<string, Set<string>>()
  /** Our own listings announced to Go peers, by key: what a `delist` must name once one is withdrawn. */
  private readonly announced = new Map<string, Listing>()
  private readonly counts: Record<string, number> = {}
  private pulls = 0
  private topologyId: string | undefined
  private timers: Array<ReturnType<typeof setInterval>> = []
  private market: LegacyListingSource | undefined
  private running = false

  constructor(components: LegacyMarketplaceComponents, init: LegacyMarketplaceInit = {}) {
    super()
    this.components = components
    this.log = components.logger.forComponent('betar:marketplace-legacy')
    this.topic = init.topic ?? LEGACY_TOPIC
    this.protocol = init.protocol ?? LEGACY_PROTOCOL
    this.marketService = init.marketService ?? 'market'
    this.announceOwn = init.announce ?? true
    this.announceIntervalMs = init.announceIntervalMs ?? DEFAULT_ANNOUNCE_INTERVAL_MS
    this.pullOnConnect = init.pullOnConnect ?? true
    this.maxAnnouncementSize = init.maxAnnouncementSize ?? DEFAULT_MAX_ANNOUNCEMENT_SIZE
    this.maxInfoReplySize = init.maxInfoReplySize ?? DEFAULT_MAX_INFO_REPLY_SIZE
    this.maxInfoListings = init.maxInfoListings ?? DEFAULT_MAX_INFO_LISTINGS
    this.pullIntervalMs = init.pullIntervalMs ?? DEFAULT_PULL_INTERVAL_MS
    this.maxConcurrentPulls = init.maxConcurrentPulls ?? DEFAULT_MAX_CONCURRENT_PULLS
    this.pullTimeoutMs = init.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS
    this.store = new LegacyStore({
      maxPerPeer: init.maxListingsPerPeer ?? DEFAULT_MAX_LISTINGS_PER_PEER,
      maxTotal: init.maxListings ?? DEFAULT_MAX_LISTINGS,
      ttlMs: init.ttlMs ?? DEFAULT_LEGACY_TTL_MS
    })
    this.announcements = new RateLimiter(
      init.announceBurst ?? DEFAULT_ANNOUNCE_BURST,
      init.announceRefillMs ?? DEFAULT_ANNOUNCE_REFILL_MS
    )
    this.serving = new RateLimiter(
      init.serveBurst ?? DEFAULT_SERVE_BURST,
      init.serveRefillMs ?? DEFAULT_SERVE_REFILL_MS
    )
  }

  get rejected(): Readonly<Record<string, number>> {
    return { ...this.counts }
  }

  async start(): Promise<void> {}

  async afterStart(): Promise<void> {
    if (this.running) return
    this.running = true
    this.market = this.resolveMarket()
    const { pubsub, registrar } = this.components
    pubsub.topicValidators.set(this.topic, (_peer, message) => this.validate(message))
    pubsub.subscribe(this.topic)
    await registrar.handle(this.protocol, (stream, connection) => this.serve(stream, connection), {
      maxInboundStreams: MAX_INBOUND_STREAMS,
      maxOutboundStreams: MAX_OUTBOUND_STREAMS
    })
    if (this.pullOnConnect) {
      this.topologyId = await registrar.register(this.protocol, {
        onConnect: (peer) => this.pullOnce(peer)
      })
    }
    if (this.market != null) {
      for (const listing of this.market.find({ limit: Number.MAX_SAFE_INTEGER })) this.signed(listing)
      this.market.addEventListener('listing:added', this.onSigned)
      this.market.addEventListener('listing:removed', this.onSignedRemoved)
    }
    if (this.announceOwn && this.market != null) {
      this.market.addEventListener('listing:added', this.onOwnChange)
      this.market.addEventListener('listing:updated', this.onOwnChange)
      this.market.addEventListener('listing:removed', this.onOwnRemoved)
      this.timers.push(setInterval(() => void this.announce(), this.announceIntervalMs))
    }
    this.timers.push(setInterval(() => this.expire(), Math.min(60_000, this.announceIntervalMs)))
    for (const t of this.timers) t.unref?.()
  }

  async beforeStop(): Promise<void> {
    if (!this.running) return
    this.running = false
    for (const t of this.timers) clearInterval(t)
    this.timers = []
    this.market?.removeEventListener('listing:added', this.onSigned)
    this.market?.removeEventListener('listing:removed', this.onSignedRemoved)
    this.market?.removeEventListener('listing:added', this.onOwnChange)
    this.market?.removeEventListener('listing:updated', this.onOwnChange)
    this.market?.removeEventListener('listing:removed', this.onOwnRemoved)
    const { pubsub, registrar } = this.components
    pubsub.topicValidators.delete(this.topic)
    try {
      pubsub.unsubscribe(this.topic)
    } catch {
      // already stopped
    }
    if (this.topologyId != null) registrar.unregister(this.topologyId)
    this.topologyId = undefined
    await registrar.unhandle(this.protocol)
  }

  async stop(): Promise<void> {
    this.store.clear()
  }

  list(options: LegacyFindOptions = {}): LegacyListing[] {
    const text = options.text?.toLowerCase()
    const sellers = options.sellers != null ? new Set(options.sellers) : undefined
    return this.store
      .list()
      .filter(
        (l) =>
          (text == null || l.name.toLowerCase().includes(text)) &&
          (sellers == null || sellers.has(l.seller)) &&
          (options.maxPrice == null || l.priceAtomic <= options.maxPrice)
      )
      .sort((a, b) => (a.priceAtomic < b.priceAtomic ? -1 : a.priceAtomic > b.priceAtomic ? 1 : 0))
      .slice(0, options.limit ?? 100)
  }

  get(key: string): LegacyListing | undefined {
    return this.store.get(key)
  }

  /** The `@betar/marketplace` service, when the node has one under the configured name. */
  private resolveMarket(): LegacyListingSource | undefined {
    if (this.marketService === false) return undefined
    try {
      // libp2p's components proxy throws for a service the node does not have.
      return (this.components as unknown as Record<string, LegacyListingSource | undefined>)[this.marketService]
    } catch {
      this.log('no %s service: no listings of ours are offered to Go peers', this.marketService)
      return undefined
    }
  }

  /** This node's own live listings that a Go buyer can call. */
  private ownListings(): Listing[] {
    const self = this.components.peerId.toString()
    return (this.market?.find({ sellers: [self], limit: 1_000 }) ?? []).filter(goCompatible)
  }

  async announce(): Promise<number> {
    if (!this.running || !this.announceOwn) return 0
    let sent = 0
    for (const listing of this.ownListings()) {
      this.announced.set(`${listing.seller}/${listing.id}`, listing)
      if (await this.publish(encodeAnnouncement(toGoAnnouncement(listing)))) sent++
    }
    return sent
  }

  private async publish(data: Uint8Array): Promise<boolean> {
    try {
      await this.components.pubsub.publish(this.topic, data)
      return true
    } catch (err) {
      this.log('could not announce - %e', err)
      return false
    }
  }

  private readonly onOwnChange = (e: CustomEvent<Listing>): void => {
    const listing = e.detail
    if (!this.running || listing.seller !== this.components.peerId.toString() || !goCompatible(listing)) return
    this.announced.set(`${listing.seller}/${listing.id}`, listing)
    void this.publish(encodeAnnouncement(toGoAnnouncement(listing)))
  }

  /** One of our listings was withdrawn or expired: Go peers are told with a `delist` (they honour it from its seller). */
  private readonly onOwnRemoved = (e: CustomEvent<{ key: string; seller: string; id: string }>): void => {
    const listing = this.announced.get(e.detail.key)
    if (listing == null) return
    this.announced.delete(e.detail.key)
    if (this.running) void this.publish(encodeAnnouncement(toGoAnnouncement(listing, 'delist')))
  }

  private signed(listing: Listing): void {
    let ids = this.signedSellers.get(listing.seller)
    if (ids == null) {
      ids = new Set()
      this.signedSellers.set(listing.seller, ids)
    }
    ids.add(listing.id)
  }

  /** A signed listing arrived: its seller's Go-format copies (if any) stop being shown as legacy listings. */
  private readonly onSigned = (e: CustomEvent<Listing>): void => {
    this.signed(e.detail)
    for (const listing of this.store.removeSeller(e.detail.seller)) {
      this.safeDispatchEvent('legacy:removed', { detail: listing })
    }
  }

  private readonly onSignedRemoved = (e: CustomEvent<{ key: string; seller: string; id: string }>): void => {
    const ids = this.signedSellers.get(e.detail.seller)
    ids?.delete(e.detail.id)
    if (ids?.size === 0) this.signedSellers.delete(e.detail.seller)
  }

  private reject(peer: string, reason: LegacyRejection['reason'], message: string): void {
    this.counts[reason] = (this.counts[reason] ?? 0) + 1
    this.log('refused a legacy message from %s (%s): %s', peer, reason, message)
    this.safeDispatchEvent('legacy:rejected', { detail: { peer, reason, message } })
  }

  /**
   * The topic validator. Go signs every message (`StrictSign`), so `from` is the originator, proven by its key: a
   * listing is only taken for the peer that signed it. Forged (`sellerId` ≠ signer), malformed and oversized messages
   * are rejected and not forwarded; floods past the per-originator budget and over-quota listings are ignored.
   */
  private validate(message: Message): TopicValidatorResult {
    if (message.type !== 'signed') {
      this.reject('unknown', 'unsigned', 'unsigned announcement')
      return TopicValidatorResult.Reject
    }
    const from = message.from.toString()
    if (from === this.components.peerId.toString()) return TopicValidatorResult.Accept
    if (!this.announcements.take(from)) {
      this.reject(from, 'rate', 'announcement budget spent')
      return TopicValidatorResult.Ignore
    }
    try {
      const go = decodeAnnouncement(message.data, this.maxAnnouncementSize)
      if (go.sellerId !== from) {
        throw new InvalidLegacyListingError('seller', `sellerId ${go.sellerId.slice(0, 128)} is not the signer ${from}`)
      }
      if (go.type === 'delist') {
        const removed = this.store.remove(from, go.agentId)
        if (removed != null) this.safeDispatchEvent('legacy:removed', { detail: removed })
        return TopicValidatorResult.Accept
      }
      this.put(from, go, 'announcement')
      return TopicValidatorResult.Accept
    } catch (err) {
      if (!(err instanceof InvalidLegacyListingError)) throw err
      this.reject(from, err.reason, err.message)
      return err.reason === 'quota' || err.reason === 'stale'
        ? TopicValidatorResult.Ignore
        : TopicValidatorResult.Reject
    }
  }

  /** Stores a Go listing of `seller`; `undefined` when the seller has signed listings here (they take precedence). */
  private put(seller: string, go: GoListingFields, source: LegacyListing['source']): LegacyListing | undefined {
    if (this.signedSellers.has(seller)) return undefined
    const { listing, outcome } = this.store.put(seller, go, source)
    if (outcome === 'added') this.safeDispatchEvent('legacy:added', { detail: listing })
    else if (outcome === 'updated') this.safeDispatchEvent('legacy:updated', { detail: listing })
    return listing
  }

  private expire(): void {
    for (const listing of this.store.collect()) this.safeDispatchEvent('legacy:removed', { detail: listing })
    const cutoff = Date.now() - this.pullIntervalMs
    for (const [peer, at] of this.lastPull) if (at < cutoff) this.lastPull.delete(peer)
  }

  /** Pulls from a peer that just connected, unless pulled recently or too many pulls run. */
  private pullOnce(peer: PeerId): void {
    const id = peer.toString()
    const last = this.lastPull.get(id)
    if (last != null && Date.now() - last < this.pullIntervalMs) return
    if (this.pulls >= this.maxConcurrentPulls) {
      this.log('skipped pulling %p: %d pulls running', peer, this.pulls)
      return
    }
    this.pull(peer).catch((err: unknown) => this.log('info pull from %p failed - %e', peer, err))
  }

  async pull(peer: PeerId, options: AbortOptions = {}): Promise<LegacyListing[]> {
    const id = peer.toString()
    this.lastPull.set(id, Date.now())
    this.pulls++
    const signal = options.signal ?? AbortSignal.timeout(this.pullTimeoutMs)
    let stream: Stream | undefined
    try {
      stream = await this.components.connectionManager.openStream(peer, this.protocol, { signal })
      stream.send(encodeRequest(INFO_MESSAGE_TYPE))
      await stream.close({ signal })
      const data = await readResponse(stream, this.maxInfoReplySize, { signal })
      const reply = decodeInfoReply(data, this.maxInfoReplySize, this.maxInfoListings)
      const accepted: LegacyListing[] = []
      for (let i = 0; i < reply.invalid; i++) this.reject(id, 'schema', 'invalid listing in an info reply')
      for (const go of reply.listings) {
        // Go answers with every listing it knows; only the responder's own are authenticated by this stream.
        if (go.sellerId !== id) {
          this.reject(id, 'seller', `info listing ${go.id.slice(0, 128)} names seller ${go.sellerId.slice(0, 128)}`)
          continue
        }
        try {
          const listing = this.put(id, go, 'info')
          if (listing != null) accepted.push(listing)
        } catch (err) {
          if (!(err instanceof InvalidLegacyListingError)) throw err
          this.reject(id, err.reason, err.message)
        }
      }
      return accepted
    } catch (err) {
      stream?.abort(err instanceof Error ? err : new Error(String(err)))
      if (err instanceof InvalidLegacyListingError) this.reject(id, err.reason, err.message)
      throw err
    } finally {
      this.pulls--
    }
  }

  /** Answers Go's `info` with this node's own listings, in Go's JSON; other message types as Go answers unknown ones. */
  private async serve(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    if (!this.serving.take(peer)) {
      stream.abort(new Error('info rate limit'))
      return
    }
    const signal = AbortSignal.timeout(this.pullTimeoutMs)
    try {
      const request = await readRequest(stream, MAX_REQUEST_DATA_LENGTH, { signal })
      const data =
        request.type === INFO_MESSAGE_TYPE
          ? encodeInfoReply(this.ownListings().map(toGoListing))
          : utf8.encode(`unknown message type: ${request.type}`)
      if (!stream.send(encodeResponse(data))) await stream.onDrain({ signal })
      await stream.close({ signal })
    } catch (err) {
      this.log('info request from %s failed - %e', peer, err)
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }
}
