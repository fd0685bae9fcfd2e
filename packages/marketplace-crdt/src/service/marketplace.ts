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
import { lpStream } from '@libp2p/utils'
import { Key } from 'interface-datastore'
import { EpochedMarketplace } from '../core/epochs.ts'
import type { Listing } from '../core/listing.ts'
import { listingKey } from '../core/listing.ts'
import type { ListingInput, MarketplaceDoc } from '../core/marketplace-doc.ts'
import { RejectedUpdateError } from '../errors.ts'
import { capabilityCid } from './capability.ts'
import type {
  FindOptions,
  Marketplace,
  MarketplaceComponents,
  MarketplaceEvents,
  MarketplaceInit,
  PublishInput
} from './types.ts'

const EPOCH_PREFIX = '/betar/marketplace/epoch'
const epochKey = (epoch: number): Key => new Key(`${EPOCH_PREFIX}/${epoch}`)
const DEFAULT_PROTOCOLS = ['/x402/libp2p/2.0.0', '/x402/libp2p/1.0.0']

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
  private readonly maxSyncSize: number
  private readonly syncTimeoutMs: number
  private readonly provideRecords: boolean
  private readonly dialDiscovered: boolean
  /** This node's listings as published, re-signed on every heartbeat. */
  private readonly own = new Map<string, ListingInput>()
  private timers: Array<ReturnType<typeof setInterval>> = []
  private persistTimer: ReturnType<typeof setTimeout> | undefined
  private syncing = new Map<string, Promise<void>>()
  private running = false

  constructor(components: MarketplaceComponents, init: MarketplaceInit = {}) {
    super()
    this.components = components
    this.log = components.logger.forComponent('betar:marketplace')
    this.topic = init.topic ?? 'betar/marketplace/crdt/1'
    this.protocol = init.syncProtocol ?? '/betar/marketplace/sync/1.0.0'
    this.ttlMs = init.listingTtlMs ?? 10 * 60_000
    this.gcIntervalMs = init.gcIntervalMs ?? 60_000
    this.maxSyncSize = init.maxSyncSize ?? 64 * 1024 * 1024
    this.syncTimeoutMs = init.syncTimeoutMs ?? 15_000
    this.provideRecords = init.provide ?? true
    this.dialDiscovered = init.dialDiscovered ?? true
    this.market = new EpochedMarketplace({
      peerId: components.peerId.toString(),
      privateKey: components.privateKey,
      ...(init.epochMs != null ? { epochMs: init.epochMs } : {}),
      validation: { maxUpdateSize: init.maxUpdateSize ?? 1024 * 1024 }
    })
    for (const type of ['listing:added', 'listing:updated', 'listing:removed'] as const) {
      this.market.addEventListener(type, (e) => this.safeDispatchEvent(type, { detail: e.detail } as never))
    }
    this.market.addEventListener('update', (e) => {
      if (e.detail.local) this.broadcast(e.detail.epoch, e.detail.update)
      this.schedulePersist()
    })
    this.market.addEventListener('epoch:open', (e) => {
      if (this.running) this.join(e.detail)
    })
    this.market.addEventListener('epoch:drop', (e) => {
      this.leave(e.detail)
      Promise.resolve(this.components.datastore.delete(epochKey(e.detail))).catch(() => undefined)
    })
  }

  async start(): Promise<void> {
    if (this.running) return
    for await (const { key, value } of this.components.datastore.query({ prefix: EPOCH_PREFIX })) {
      const epoch = Number(key.baseNamespace())
      const doc = Number.isInteger(epoch) ? this.market.doc(epoch) : undefined
      if (doc == null)
        await this.components.datastore.delete(key) // an epoch too old to keep
      else doc.restore(value)
    }
  }

  /** After every service started: GossipSub is running, so subscribe and start serving sync. */
  async afterStart(): Promise<void> {
    this.running = true
    for (const epoch of this.market.epochs()) this.join(epoch)
    await this.components.registrar.handle(this.protocol, (stream, connection) => this.onSync(stream, connection), {
      maxInboundStreams: 8
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

  private join(epoch: number): void {
    const topic = this.topicOf(epoch)
    if (this.components.pubsub.topicValidators.has(topic)) return
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
    const listings = await this.market.publishMany(full)
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
    return this.market
      .listings()
      .filter(
        (l) =>
          (options.capability == null || l.capabilities.includes(options.capability)) &&
          (options.maxPrice == null || BigInt(l.price.amount) <= options.maxPrice) &&
          (sellers == null || sellers.has(l.seller)) &&
          (text == null || `${l.name}\n${l.description}`.toLowerCase().includes(text))
      )
      .sort((a, b) => (BigInt(a.price.amount) < BigInt(b.price.amount) ? -1 : 1))
      .slice(0, options.limit ?? 100)
  }

  async findSellers(capability: string, options: FindOptions = {}): Promise<Listing[]> {
    const signal = options.signal ?? AbortSignal.timeout(this.syncTimeoutMs)
    const cid = await capabilityCid(capability)
    const syncs: Array<Promise<void>> = []
    for await (const provider of this.components.contentRouting.findProviders(cid, { signal })) {
      if (provider.id.equals(this.components.peerId)) continue
      syncs.push(
        this.components.connectionManager
          .openConnection(provider.id, { signal })
          .then(() => this.sync(provider.id, { signal }))
          .catch((err: unknown) => this.log('sync with provider %p failed - %e', provider.id, err))
      )
    }
    await Promise.all(syncs)
    return this.find({ ...options, capability })
  }

  /** Two-way state sync: send our state vector, apply their diff, answer theirs (y-protocols' sync steps 1–2). */
  sync(peer: PeerId, options: AbortOptions = {}): Promise<void> {
    const id = peer.toString()
    const running = this.syncing.get(id)
    if (running != null) return running
    const task = this.runSync(peer, options).finally(() => this.syncing.delete(id))
    this.syncing.set(id, task)
    return task
  }

  /**
   * Per held epoch: `epoch`, our state vector → their diff, their state vector → our diff; an empty frame ends it.
   * The responder answers empty frames for an epoch it does not keep.
   */
  private async runSync(peer: PeerId, options: AbortOptions): Promise<void> {
    const signal = options.signal ?? AbortSignal.timeout(this.syncTimeoutMs)
    const stream = await this.components.connectionManager.openStream(peer, this.protocol, { signal })
    const lp = lpStream(stream, { maxDataLength: this.maxSyncSize })
    try {
      for (const epoch of this.market.epochs()) {
        const doc = this.market.doc(epoch)
        if (doc == null) continue
        await lp.write(new TextEncoder().encode(String(epoch)), { signal })
        await lp.write(doc.stateVector(), { signal })
        const theirDiff = (await lp.read({ signal })).subarray()
        const theirVector = (await lp.read({ signal })).subarray()
        if (theirVector.byteLength === 0) continue // they do not keep this epoch
        await this.applyFrom(doc, peer, theirDiff)
        await lp.write(doc.diff(theirVector), { signal })
      }
      await lp.write(new Uint8Array(0), { signal })
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  private async onSync(stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.syncTimeoutMs)
    const lp = lpStream(stream, { maxDataLength: this.maxSyncSize })
    try {
      for (let round = 0; round < 4; round++) {
        const head = (await lp.read({ signal })).subarray()
        if (head.byteLength === 0) break
        const epoch = Number(new TextDecoder().decode(head))
        const theirVector = (await lp.read({ signal })).subarray()
        const doc = Number.isInteger(epoch) ? this.market.doc(epoch) : undefined
        if (doc == null) {
          await lp.write(new Uint8Array(0), { signal })
          await lp.write(new Uint8Array(0), { signal })
          continue
        }
        await lp.write(doc.diff(theirVector), { signal })
        await lp.write(doc.stateVector(), { signal })
        await this.applyFrom(doc, connection.remotePeer, (await lp.read({ signal })).subarray())
      }
      await stream.close({ signal })
    } catch (err) {
      this.log('sync from %p failed - %e', connection.remotePeer, err)
      stream.abort(err as Error)
    }
  }

  private async applyFrom(doc: MarketplaceDoc, peer: PeerId, update: Uint8Array): Promise<void> {
    try {
      // A sync carries whole state: bounded by the sync limit, and by structs proportionate to its size.
      await doc.applyRemoteBulk(update, {
        maxUpdateSize: this.maxSyncSize,
        maxStructs: Math.ceil(this.maxSyncSize / 64)
      })
    } catch (err) {
      if (err instanceof RejectedUpdateError) {
        this.log('rejected state from %p - %s', peer, err.message)
        return
      }
      throw err
    }
  }

  /** GossipSub topic validator: apply a valid update (it is then forwarded); reject a forged one (never forwarded). */
  private async validate(epoch: number, peer: PeerId, data: Uint8Array): Promise<TopicValidatorResult> {
    const doc = this.market.doc(epoch)
    if (doc == null) return TopicValidatorResult.Ignore // an epoch this node no longer keeps
    try {
      await doc.applyRemoteBulk(data)
      return TopicValidatorResult.Accept
    } catch (err) {
      if (err instanceof RejectedUpdateError && err.needsSync) {
        void this.sync(peer).catch((e: unknown) => this.log('catch-up sync with %p failed - %e', peer, e))
        return TopicValidatorResult.Ignore
      }
      this.log('rejected update via %p - %s', peer, (err as Error).message)
      return TopicValidatorResult.Reject
    }
  }

  private readonly onConnection = (event: CustomEvent<Connection>): void => {
    const peer = event.detail.remotePeer
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
    this.components.pubsub
      .publish(this.topicOf(epoch), update)
      .catch((err: unknown) => this.log('publish failed (peers will sync on connect) - %e', err))
  }

  private heartbeat(): void {
    if (this.own.size === 0) return
    this.market
      .publishMany([...this.own.values()])
      .catch((err: unknown) => this.log.error('refreshing listings failed - %e', err))
  }

  private schedulePersist(): void {
    if (this.persistTimer != null) return
    this.persistTimer = setTimeout(() => {
      this.persistTimer = undefined
      this.persist().catch((err: unknown) => this.log.error('persisting the marketplace failed - %e', err))
    }, 200)
  }

  private async persist(): Promise<void> {
    for (const epoch of this.market.epochs()) {
      const doc = this.market.doc(epoch)
      if (doc != null) await this.components.datastore.put(epochKey(epoch), doc.snapshot())
    }
  }

  /** Keys of this node's own listings. */
  ownKeys(): string[] {
    return [...this.own.keys()].map((id) => listingKey(this.components.peerId.toString(), id))
  }
}
