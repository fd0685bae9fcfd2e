import { TopicValidatorResult } from '@libp2p/gossipsub'
import {
  type AbortOptions,
  type Connection,
  type Logger,
  type PeerId,
  type PeerInfo,
  type Stream,
  serviceCapabilities,
  serviceDependencies,
  TypedEventEmitter
} from '@libp2p/interface'
import { EpochedMarketplace } from '../core/epochs.ts'
import type { Listing } from '../core/listing.ts'
import { listingKey } from '../core/listing.ts'
import type { ListingInput, MarketplaceDoc } from '../core/marketplace-doc.ts'
import { RejectedUpdateError } from '../errors.ts'
import { publishBatches } from './batches.ts'
import { capabilityCid } from './capability.ts'
import {
  CATCH_UP_DELAY_MS,
  CATCH_UP_SYNC_INTERVAL_MS,
  DEFAULT_FIND_SELLERS_TIMEOUT_MS,
  DEFAULT_MAX_CONCURRENT_SYNCS,
  DEFAULT_MAX_SYNC_FRAME_SIZE,
  DEFAULT_MAX_SYNC_SIZE,
  DEFAULT_PROVIDER_BACKOFF_MS,
  DEFAULT_PROVIDER_TIMEOUT_MS,
  DEFAULT_SYNC_BURST,
  DEFAULT_SYNC_CHUNK_SIZE,
  DEFAULT_SYNC_IDLE_TIMEOUT_MS,
  DEFAULT_SYNC_REFILL_MS,
  DEFAULT_SYNC_TIMEOUT_MS,
  DEFAULT_TOPIC,
  DOUBTFUL_BURST,
  MAX_REMEMBERED_PROVIDERS,
  NEEDS_SYNC_BURST,
  SYNC_MAX_INBOUND_STREAMS,
  SYNC_MAX_OUTBOUND_STREAMS,
  SYNC_PROTOCOL
} from './constants.ts'
import { SyncRefusedError } from './errors.ts'
import { EpochStore } from './persistence.ts'
import { RateLimiter } from './rate-limit.ts'
import { INVALID_UPDATES_TO_GRAYLIST, MARKETPLACE_TOPIC_SCORE_PARAMS } from './scoring.ts'
import { answerSync, initiateSync, type SyncHost, type SyncLimits } from './sync/session.ts'
import type {
  FindOptions,
  FindSellersOptions,
  Marketplace,
  MarketplaceComponents,
  MarketplaceEvents,
  MarketplaceInit,
  PublishInput,
  SyncResult
} from './types.ts'

/** State is written at most this long after a change (and on stop): each save walks the whole state. */
const PERSIST_DELAY_MS = 2_000
const PERSIST_MAX_DEFER_MS = 30_000
const DEFAULT_PROTOCOLS = ['/x402/libp2p/2.0.0', '/x402/libp2p/1.0.0']
const prices = new WeakMap<Listing, bigint>()
/** A listing's price as a bigint, parsed once per (immutable) record. */
function priceOf(listing: Listing): bigint {
  let price = prices.get(listing)
  if (price == null) {
    price = BigInt(listing.price.amount)
    prices.set(listing, price)
  }
  return price
}
/** The `limit` cheapest listings offered to it, kept in a max-heap on price. */
class CheapestFirst {
  private readonly heap: Array<[bigint, Listing]> = []
  private readonly limit: number

  constructor(limit: number) {
    this.limit = Math.max(0, limit)
  }

  /** Whether a listing at `price` would be kept. */
  wants(price: bigint): boolean {
    return this.heap.length < this.limit || price < (this.heap[0] as [bigint, Listing])[0]
  }

  add(price: bigint, listing: Listing): void {
    const h = this.heap
    if (h.length < this.limit) {
      h.push([price, listing])
      for (let i = h.length - 1; i > 0; ) {
        const parent = (i - 1) >> 1
        if ((h[parent] as [bigint, Listing])[0] >= (h[i] as [bigint, Listing])[0]) break
        ;[h[parent], h[i]] = [h[i] as [bigint, Listing], h[parent] as [bigint, Listing]]
        i = parent
      }
      return
    }
    h[0] = [price, listing]
    for (let i = 0; ; ) {
      const l = 2 * i + 1
      const r = l + 1
      let top = i
      if (l < h.length && (h[l] as [bigint, Listing])[0] > (h[top] as [bigint, Listing])[0]) top = l
      if (r < h.length && (h[r] as [bigint, Listing])[0] > (h[top] as [bigint, Listing])[0]) top = r
      if (top === i) break
      ;[h[top], h[i]] = [h[i] as [bigint, Listing], h[top] as [bigint, Listing]]
      i = top
    }
  }

  sorted(): Listing[] {
    return this.heap.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, l]) => l)
  }
}

/** Whether an applied update changed anything (a new version, or a deletion). */
function changedAnything(result: unknown): boolean {
  const r = result as { applied?: number; records?: Map<string, unknown>; removed?: Set<string> }
  return (r.applied ?? r.records?.size ?? 1) > 0 || (r.removed?.size ?? 0) > 0
}

/** Gossip updates below this size are validated in one synchronous step (≈ 30 listings at most). */
const SMALL_UPDATE_BYTES = 32 * 1024
/** A provider synced this recently is not synced again by `findSellers`: gossip keeps us current. */
const RECENT_SYNC_MS = 30_000

/** @internal — use the {@link marketplace} factory. */
export class MarketplaceService extends TypedEventEmitter<MarketplaceEvents> implements Marketplace {
  readonly [Symbol.toStringTag] = '@betar/marketplace'
  readonly [serviceCapabilities]: string[] = ['@betar/marketplace']
  readonly [serviceDependencies]: string[] = ['@libp2p/pubsub']

  readonly market: EpochedMarketplace
  private readonly components: MarketplaceComponents
  private readonly log: Logger
  private readonly topic: string
  private readonly protocol: string
  private readonly ttlMs: number
  private readonly gcIntervalMs: number
  private readonly maxUpdateSize: number
  private readonly syncTimeoutMs: number
  private readonly limits: SyncLimits
  private readonly maxConcurrentSyncs: number
  private readonly topicScore: MarketplaceInit['topicScoreParams']
  private readonly providerTimeoutMs: number
  private readonly providerBackoffMs: number
  private readonly provideRecords: boolean
  private readonly dialDiscovered: boolean
  private readonly host: SyncHost
  /** This node's listings as published, re-signed on every heartbeat. */
  private readonly own = new Map<string, ListingInput>()
  private timers: Array<ReturnType<typeof setInterval>> = []
  private readonly store: EpochStore
  private persistTimer: ReturnType<typeof setTimeout> | undefined
  private persisting: Promise<void> | undefined
  private readonly syncing = new Map<string, Promise<SyncResult>>()
  /** Inbound syncs being served, by peer. */
  private readonly serving = new Set<string>()
  private readonly inboundSyncs: RateLimiter
  /** Gossip updates that only lacked an earlier update, per peer (then they count as invalid). */
  private readonly needsSyncBudget = new RateLimiter(NEEDS_SYNC_BURST, 1_000)
  /**
   * Gossip updates per peer that were stale, over a quota here (an honest relay may send them) or changed nothing
   * (replays): ignored within this budget, then treated as invalid.
   */
  private readonly doubtBudget = new RateLimiter(DOUBTFUL_BURST, 250)
  /** Invalid gossip updates per peer: once spent, the peer's updates are refused unread, like GossipSub's graylist. */
  private readonly strikes = new RateLimiter(INVALID_UPDATES_TO_GRAYLIST, 60_000)
  /** The validation queue of each peer's gossip updates. */
  private readonly validating = new Map<string, Promise<void>>()
  private readonly lastSync = new Map<string, number>()
  /** Catch-up syncs per peer: when one last ran, and the one scheduled. */
  private readonly catchUps = new Map<string, { ranAt: number; timer?: ReturnType<typeof setTimeout> }>()
  /** Providers that delivered no valid listing, until when they are skipped. */
  private readonly uselessProviders = new Map<string, number>()
  private running = false

  constructor(components: MarketplaceComponents, init: MarketplaceInit = {}) {
    super()
    this.components = components
    this.log = components.logger.forComponent('betar:marketplace')
    this.topic = init.topic ?? DEFAULT_TOPIC
    this.protocol = init.syncProtocol ?? SYNC_PROTOCOL
    this.ttlMs = init.listingTtlMs ?? 10 * 60_000
    this.gcIntervalMs = init.gcIntervalMs ?? 60_000
    this.maxUpdateSize = init.maxUpdateSize ?? 1024 * 1024
    this.syncTimeoutMs = init.syncTimeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS
    this.limits = {
      chunkSize: init.syncChunkSize ?? DEFAULT_SYNC_CHUNK_SIZE,
      maxFrameSize: init.maxSyncFrameSize ?? DEFAULT_MAX_SYNC_FRAME_SIZE,
      maxSyncSize: init.maxSyncSize ?? DEFAULT_MAX_SYNC_SIZE,
      idleTimeoutMs: init.syncIdleTimeoutMs ?? DEFAULT_SYNC_IDLE_TIMEOUT_MS
    }
    this.maxConcurrentSyncs = init.maxConcurrentSyncs ?? DEFAULT_MAX_CONCURRENT_SYNCS
    this.inboundSyncs = new RateLimiter(
      init.syncBurst ?? DEFAULT_SYNC_BURST,
      init.syncRefillMs ?? DEFAULT_SYNC_REFILL_MS
    )
    this.topicScore = init.topicScoreParams ?? {}
    this.providerTimeoutMs = init.providerTimeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS
    this.providerBackoffMs = init.providerBackoffMs ?? DEFAULT_PROVIDER_BACKOFF_MS
    this.provideRecords = init.provide ?? true
    this.dialDiscovered = init.dialDiscovered ?? true
    this.market = new EpochedMarketplace({
      peerId: components.peerId.toString(),
      privateKey: components.privateKey,
      ...(init.epochMs != null ? { epochMs: init.epochMs } : {}),
      validation: { maxUpdateSize: this.maxUpdateSize }
    })
    this.store = new EpochStore(components.datastore)
    this.host = {
      epochs: () => this.market.epochs(),
      held: (epoch) => this.held(epoch),
      apply: (doc, update, result) => this.applyChunk(doc, update, result)
    }
    for (const type of ['listing:added', 'listing:updated', 'listing:removed'] as const) {
      this.market.addEventListener(type, (e) => {
        if (this.listenerCount(type) > 0) this.safeDispatchEvent(type, { detail: e.detail } as never)
      })
    }
    this.market.addEventListener('update', (e) => {
      if (e.detail.local) this.broadcast(e.detail.epoch, e.detail.update)
      this.store.record(e.detail.epoch, e.detail.update)
      this.schedulePersist()
    })
    this.market.addEventListener('epoch:open', (e) => {
      if (this.running) this.join(e.detail)
    })
    this.market.addEventListener('epoch:drop', (e) => {
      this.leave(e.detail)
      this.store.drop(e.detail).catch((err: unknown) => this.log('could not delete epoch %d - %e', e.detail, err))
    })
  }

  async start(): Promise<void> {
    if (this.running) return
    await this.store.restore(this.market)
  }

  /** After every service started: GossipSub is running, so subscribe and start serving sync. */
  async afterStart(): Promise<void> {
    this.running = true
    for (const epoch of this.market.epochs()) this.join(epoch)
    await this.components.registrar.handle(this.protocol, (stream, connection) => this.onSync(stream, connection), {
      maxInboundStreams: SYNC_MAX_INBOUND_STREAMS,
      maxOutboundStreams: SYNC_MAX_OUTBOUND_STREAMS
    })
    this.components.events.addEventListener('connection:open', this.onConnection)
    if (this.dialDiscovered) this.components.events.addEventListener('peer:discovery', this.onDiscovery)
    this.timers.push(setInterval(() => this.heartbeat(), Math.max(1_000, this.ttlMs / 2)))
    this.timers.push(setInterval(() => this.market.collectGarbage(), this.gcIntervalMs))
    for (const t of this.timers) t.unref?.()
  }

  /** Before GossipSub stops: leave the topics and stop serving sync. */
  async beforeStop(): Promise<void> {
    if (!this.running) return
    this.running = false
    for (const t of this.timers) clearInterval(t)
    this.timers = []
    for (const { timer } of this.catchUps.values()) clearTimeout(timer)
    this.catchUps.clear()
    this.components.events.removeEventListener('connection:open', this.onConnection)
    this.components.events.removeEventListener('peer:discovery', this.onDiscovery)
    for (const epoch of this.market.epochs()) this.leave(epoch)
    await this.components.registrar.unhandle(this.protocol)
  }

  async stop(): Promise<void> {
    clearTimeout(this.persistTimer)
    this.persistTimer = undefined
    await this.persist()
  }

  /** The GossipSub topic of one epoch. */
  topicOf(epoch: number): string {
    return `${this.topic}/${epoch}`
  }

  /** The document of an epoch this node holds. Unlike `market.doc`, never opens one: peers cannot make us. */
  private held(epoch: number): MarketplaceDoc | undefined {
    return this.market.epochs().includes(epoch) ? this.market.doc(epoch) : undefined
  }

  private join(epoch: number): void {
    const topic = this.topicOf(epoch)
    if (this.components.pubsub.topicValidators.has(topic)) return
    const scored = this.components.pubsub.score?.params.topics
    if (this.topicScore !== false && scored != null) {
      scored[topic] = { ...MARKETPLACE_TOPIC_SCORE_PARAMS, ...this.topicScore }
    }
    this.components.pubsub.topicValidators.set(topic, (peer, message) => this.validate(epoch, peer, message.data))
    this.components.pubsub.subscribe(topic)
  }

  private leave(epoch: number): void {
    const topic = this.topicOf(epoch)
    this.components.pubsub.topicValidators.delete(topic)
    try {
      this.components.pubsub.unsubscribe(topic)
    } catch {
      // already stopped
    }
    // Stats of this topic stay with peers until they are pruned; without params they no longer count.
    delete this.components.pubsub.score?.params.topics[topic]
  }

  async publish(input: PublishInput, options: AbortOptions = {}): Promise<Listing> {
    const [listing] = await this.publishMany([input], options)
    return listing as Listing
  }

  async publishMany(inputs: readonly PublishInput[], options: AbortOptions = {}): Promise<Listing[]> {
    const addresses = this.components.addressManager.getAddresses().map((a) => a.toString())
    const full: ListingInput[] = inputs.map((input) => ({
      ...input,
      ttlMs: input.ttlMs ?? this.ttlMs,
      multiaddrs: input.multiaddrs ?? addresses,
      protocols: input.protocols ?? DEFAULT_PROTOCOLS
    }))
    const listings = await this.write(full)
    for (const input of full) this.own.set(input.id, input)
    if (this.provideRecords) {
      for (const capability of new Set(listings.flatMap((l) => l.capabilities))) {
        this.components.contentRouting
          .provide(await capabilityCid(capability), options)
          .catch((err: unknown) => this.log('could not provide %s - %e', capability, err))
      }
    }
    return listings
  }

  /**
   * Signs and writes listings as several updates, each well under the gossip limit (one message each), letting the
   * event loop run between them: signing a large catalogue in one go held it for hundreds of ms at every heartbeat.
   */
  private async write(inputs: readonly ListingInput[]): Promise<Listing[]> {
    const out: Listing[] = []
    for (const batch of publishBatches(inputs, this.maxUpdateSize / 8)) {
      if (out.length > 0) await new Promise((resolve) => setImmediate(resolve))
      out.push(...(await this.market.publishMany(batch)))
    }
    return out
  }

  async delist(id: string): Promise<void> {
    this.own.delete(id)
    await this.market.delist(id)
  }

  get(key: string): Listing | undefined {
    return this.market.get(key)
  }

  find(options: FindOptions = {}): Listing[] {
    const text = options.text?.toLowerCase()
    const sellers = options.sellers != null ? new Set(options.sellers) : undefined
    // The cheapest `limit` matches, in a bounded max-heap (O(n log limit)); prices are parsed once per record.
    const best = new CheapestFirst(options.limit ?? 100)
    for (const l of this.market.listings()) {
      if (options.capability != null && !l.capabilities.includes(options.capability)) continue
      if (sellers != null && !sellers.has(l.seller)) continue
      const price = priceOf(l)
      if (options.maxPrice != null && price > options.maxPrice) continue
      if (!best.wants(price)) continue
      if (text != null && !`${l.name}\n${l.description}`.toLowerCase().includes(text)) continue
      best.add(price, l)
    }
    return best.sorted()
  }

  async findSellers(capability: string, options: FindSellersOptions = {}): Promise<Listing[]> {
    const signal = options.signal ?? AbortSignal.timeout(DEFAULT_FIND_SELLERS_TIMEOUT_MS)
    const deadline = options.providerTimeoutMs ?? this.providerTimeoutMs
    const cid = await capabilityCid(capability)
    const asked = new Set<string>()
    const answers: Array<Promise<void>> = []
    try {
      for await (const provider of this.components.contentRouting.findProviders(cid, { signal })) {
        const id = provider.id.toString()
        if (provider.id.equals(this.components.peerId) || asked.has(id) || this.isUseless(id)) continue
        asked.add(id)
        answers.push(this.askProvider(provider.id, capability, deadline, signal))
      }
    } catch (err) {
      if (!signal.aborted) this.log('provider lookup for %s failed - %e', capability, err)
    }
    await Promise.all(answers)
    return this.find({ ...options, capability })
  }

  /**
   * Connects to one provider and syncs, waiting at most `deadline` (the sync itself may go on, within its own limits).
   * A provider of which we then hold no valid listing for the capability is skipped for `providerBackoffMs`.
   */
  private async askProvider(peer: PeerId, capability: string, deadline: number, signal: AbortSignal): Promise<void> {
    const id = peer.toString()
    const delivered = () => this.find({ sellers: [id], capability, limit: 1 }).length > 0
    const recent = (this.lastSync.get(id) ?? 0) > Date.now() - RECENT_SYNC_MS
    if (recent && delivered()) return
    const limit = AbortSignal.any([signal, AbortSignal.timeout(deadline)])
    const work = this.components.connectionManager
      .openConnection(peer, { signal: limit })
      .then(() => this.sync(peer))
      .then(
        () => {
          if (delivered()) this.uselessProviders.delete(id) // it answered after all
        },
        (err: unknown) => this.log('sync with provider %p failed - %e', peer, err)
      )
    await Promise.race([work, new Promise<void>((resolve) => limit.addEventListener('abort', () => resolve()))])
    if (!delivered()) {
      this.log(
        'provider %p of %s delivered no valid listing: skipped for %d ms',
        peer,
        capability,
        this.providerBackoffMs
      )
      if (this.uselessProviders.size >= MAX_REMEMBERED_PROVIDERS) {
        const oldest = this.uselessProviders.keys().next().value
        if (oldest != null) this.uselessProviders.delete(oldest)
      }
      this.uselessProviders.set(id, Date.now() + this.providerBackoffMs)
    }
  }

  private isUseless(id: string): boolean {
    const until = this.uselessProviders.get(id)
    if (until == null) return false
    if (until > Date.now()) return true
    this.uselessProviders.delete(id)
    return false
  }

  /** Two-way state sync, chunked (`/betar/marketplace/sync/2.0.0`); one at a time per peer. */
  sync(peer: PeerId, options: AbortOptions = {}): Promise<SyncResult> {
    const id = peer.toString()
    const running = this.syncing.get(id)
    if (running != null) return running
    const task = this.runSync(peer, options).finally(() => this.syncing.delete(id))
    this.syncing.set(id, task)
    return task
  }

  private async runSync(peer: PeerId, options: AbortOptions): Promise<SyncResult> {
    const signal = options.signal ?? AbortSignal.timeout(this.syncTimeoutMs)
    const stream = await this.components.connectionManager.openStream(peer, this.protocol, { signal })
    try {
      const result = await initiateSync(stream, this.host, this.limits, { signal })
      await stream.close({ signal })
      this.synced(peer.toString())
      if (result.rejected > 0) this.log('sync with %p: %d chunks refused', peer, result.rejected)
      return result
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  private synced(id: string): void {
    this.lastSync.delete(id)
    if (this.lastSync.size >= MAX_REMEMBERED_PROVIDERS) {
      const oldest = this.lastSync.keys().next().value
      if (oldest != null) this.lastSync.delete(oldest)
    }
    this.lastSync.set(id, Date.now())
  }

  private async onSync(stream: Stream, connection: Connection): Promise<void> {
    const id = connection.remotePeer.toString()
    const signal = AbortSignal.timeout(this.syncTimeoutMs)
    let admitted = false
    // One sync per peer at a time, a bounded number overall, and a rate per peer: more are answered BUSY.
    const admit = (): number | undefined => {
      if (this.serving.has(id) || this.serving.size >= this.maxConcurrentSyncs) return 1_000
      if (!this.inboundSyncs.take(id)) return this.inboundSyncs.retryAfter(id)
      this.serving.add(id)
      admitted = true
      return undefined
    }
    try {
      const result = await answerSync(stream, this.host, this.limits, { signal }, admit)
      await stream.close({ signal })
      this.synced(id)
      if (result.rejected > 0) this.log('sync from %p: %d chunks refused', connection.remotePeer, result.rejected)
    } catch (err) {
      if (err instanceof SyncRefusedError) {
        // Answered BUSY: let the frame reach the peer, then end the stream.
        await stream.close({ signal: AbortSignal.timeout(1_000) }).catch((e: Error) => stream.abort(e))
        return
      }
      this.log('sync from %p failed - %e', connection.remotePeer, err)
      stream.abort(err as Error)
    } finally {
      if (admitted) this.serving.delete(id)
    }
  }

  /**
   * Validates and applies one sync chunk. With `partial`, the document applies the valid entries and reports the others
   * as dropped (one bad entry must not cost the rest); false when the chunk was refused whole.
   */
  private async applyChunk(doc: MarketplaceDoc, update: Uint8Array, result: SyncResult): Promise<boolean> {
    // Structs per chunk are bounded in proportion to its size (an honest struct takes ≥ 10 bytes).
    const options = {
      maxUpdateSize: this.limits.maxFrameSize,
      maxStructs: Math.max(20_000, Math.ceil(update.byteLength / 10)),
      partial: true
    }
    try {
      const applied = (await doc.applyRemoteBulk(update, options)) as { dropped?: unknown[] }
      result.dropped = (result.dropped ?? 0) + (applied.dropped?.length ?? 0)
      return true
    } catch (err) {
      if (err instanceof RejectedUpdateError) {
        this.log('refused a sync chunk - %s', err.message)
        return false
      }
      throw err
    }
  }

  /**
   * GossipSub topic validator: apply a valid update (it is then forwarded) → accept; an invalid one → reject, which
   * GossipSub scoring counts. One that only lacks an earlier update → ignore and a catch-up sync with the sender; one
   * that is stale or over a quota here → ignore; each within a budget per peer, past which they are rejected too. A peer that sent {@link INVALID_UPDATES_TO_GRAYLIST}
   * invalid updates recently has the next ones rejected without decoding them.
   */
  private validate(epoch: number, peer: PeerId, data: Uint8Array): Promise<TopicValidatorResult> {
    // One at a time per peer (in arrival order), so that a peer's strikes count before its next update is decoded.
    const id = peer.toString()
    const run = (this.validating.get(id) ?? Promise.resolve()).then(() => this.validateNow(epoch, peer, data))
    const done = run.then(
      () => undefined,
      () => undefined
    )
    this.validating.set(id, done)
    void done.then(() => {
      if (this.validating.get(id) === done) this.validating.delete(id)
    })
    return run
  }

  private async validateNow(epoch: number, peer: PeerId, data: Uint8Array): Promise<TopicValidatorResult> {
    const id = peer.toString()
    if (this.strikes.retryAfter(id) > 0) return TopicValidatorResult.Reject
    const doc = this.held(epoch)
    if (doc == null) return TopicValidatorResult.Ignore // an epoch this node no longer keeps
    try {
      // A small update carries few signatures: checked here directly (the two-core path only pays off past ≈ 64).
      const result = data.byteLength < SMALL_UPDATE_BYTES ? doc.applyRemote(data) : await doc.applyRemoteBulk(data)
      if (!changedAnything(result)) {
        // Nothing new: a replay of an update already held, republished as a new message (the same message reaching
        // us twice is a GossipSub duplicate, never validated again). Not forwarded — a replay would otherwise travel
        // the whole network — and, past a budget, scored.
        if (this.doubtBudget.take(id)) return TopicValidatorResult.Ignore
        this.strikes.take(id)
        return TopicValidatorResult.Reject
      }
      return TopicValidatorResult.Accept
    } catch (err) {
      if (err instanceof RejectedUpdateError) {
        // Only `invalid` proves the sender wrong. A gap (`missing`) asks for a catch-up sync; what is stale or over a
        // quota here may be an honest relay's. Both are ignored (not forwarded, not scored) within a budget per peer.
        if (err.kind === 'missing' && this.needsSyncBudget.take(id)) {
          this.catchUp(peer)
          return TopicValidatorResult.Ignore
        }
        if ((err.kind === 'stale' || err.kind === 'quota') && this.doubtBudget.take(id)) {
          this.log('ignored update via %p (%s) - %s', peer, err.kind, err.message)
          return TopicValidatorResult.Ignore
        }
      }
      this.strikes.take(id)
      this.log('rejected update via %p - %s', peer, (err as Error).message)
      return TopicValidatorResult.Reject
    }
  }

  /**
   * A sync with a peer whose update showed that we miss something. Never dropped, only delayed: the update was ignored,
   * and gossip will not deliver it again. It runs shortly after (a burst of such updates, or the missing update still in
   * flight, coalesce into it), and at most once per interval per peer.
   */
  private catchUp(peer: PeerId): void {
    const id = peer.toString()
    const previous = this.catchUps.get(id)
    if (previous?.timer != null) return // one is coming
    const now = Date.now()
    const at = Math.max(now + CATCH_UP_DELAY_MS, (previous?.ranAt ?? 0) + CATCH_UP_SYNC_INTERVAL_MS)
    const timer = setTimeout(() => {
      this.catchUps.set(id, { ranAt: Date.now() })
      if (!this.running) return
      this.sync(peer).catch((e: unknown) => this.log('catch-up sync with %p failed - %e', peer, e))
    }, at - now)
    timer.unref?.()
    if (this.catchUps.size >= MAX_REMEMBERED_PROVIDERS) {
      const [oldest, entry] = this.catchUps.entries().next().value ?? []
      if (oldest != null && entry?.timer == null) this.catchUps.delete(oldest)
    }
    this.catchUps.set(id, { ranAt: previous?.ranAt ?? 0, timer })
  }

  private readonly onConnection = (event: CustomEvent<Connection>): void => {
    const connection = event.detail
    // The sync is two-way, so one per connection is enough: the dialer starts it.
    if (connection.direction !== 'outbound') return
    const peer = connection.remotePeer
    // Let identify finish first, so the peer's protocols are known.
    setTimeout(() => {
      if (!this.running) return
      this.sync(peer).catch((err: unknown) => this.log('sync on connect with %p failed - %e', peer, err))
    }, 50)
  }

  private readonly onDiscovery = (event: CustomEvent<PeerInfo>): void => {
    const { id } = event.detail
    if (!this.running || id.equals(this.components.peerId)) return
    if (this.components.connectionManager.getConnections(id).length > 0) return
    this.components.connectionManager
      .openConnection(id, { signal: AbortSignal.timeout(this.syncTimeoutMs) })
      .catch((err: unknown) => this.log('could not dial discovered peer %p - %e', id, err))
  }

  private broadcast(epoch: number, update: Uint8Array): void {
    // Peers would refuse (and score down) an update over their limit; they get it by sync instead.
    if (update.byteLength > this.maxUpdateSize) {
      this.log.error(
        'not gossiping an update of %d bytes (limit %d); peers get it by sync',
        update.byteLength,
        this.maxUpdateSize
      )
      return
    }
    this.components.pubsub
      .publish(this.topicOf(epoch), update)
      .catch((err: unknown) => this.log('publish failed (peers will sync on connect) - %e', err))
  }

  private heartbeat(): void {
    if (this.own.size === 0) return
    this.write([...this.own.values()]).catch((err: unknown) => this.log.error('refreshing listings failed - %e', err))
  }

  private schedulePersist(deferredMs = 0): void {
    if (this.persistTimer != null) return
    this.persistTimer = setTimeout(() => {
      this.persistTimer = undefined
      // A save walks the whole state: not while a sync is streaming it in or out (for at most 30 s more).
      if ((this.serving.size > 0 || this.syncing.size > 0) && deferredMs < PERSIST_MAX_DEFER_MS) {
        this.schedulePersist(deferredMs + PERSIST_DELAY_MS)
        return
      }
      this.persist().catch((err: unknown) => this.log.error('persisting the marketplace failed - %e', err))
    }, PERSIST_DELAY_MS)
    this.persistTimer.unref?.()
  }

  /** One save at a time; a save asked for meanwhile runs after it. */
  private async persist(): Promise<void> {
    while (this.persisting != null) await this.persisting
    this.persisting = this.store.save(this.market).finally(() => {
      this.persisting = undefined
    })
    await this.persisting
  }

  /** Keys of this node's own listings. */
  ownKeys(): string[] {
    return [...this.own.keys()].map((id) => listingKey(this.components.peerId.toString(), id))
  }
}
