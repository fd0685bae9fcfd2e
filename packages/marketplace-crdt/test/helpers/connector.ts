import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'vitest'
import { verifyRecord } from '../../src/core/envelope.ts'
import { type Listing, type ListingRecord, listingKey } from '../../src/core/listing.ts'
import { type ListingInput, MarketplaceDoc } from '../../src/core/marketplace-doc.ts'
import { RejectedUpdateError } from '../../src/errors.ts'
import { listingId, otherAmount, randomListingInput, text } from './listings.ts'
import type { Prng } from './prng.ts'

/** Knobs of a randomized run; times are fake-clock milliseconds. */
export interface ConnectorOptions {
  peers: number
  /** Longest a queued message waits before it is delivered (bounded network latency). */
  maxLatencyMs: number
  /** Longest a peer stays disconnected before the network reconnects it (`Infinity`: as long as the dice say). */
  maxOfflineMs: number
  /** Every node collects garbage at least this often, online or not (its periodic timer). */
  gcIntervalMs: number
  /** Range of listing TTLs drawn for each publish. */
  ttlMs: readonly [number, number]
  /** The clock moves by at most this much at once (longer advances are split into such ticks). */
  tickMs: number
}

export interface Replica {
  index: number
  id: string
  key: PrivateKey
  market: MarketplaceDoc
  online: boolean
  offlineSince: number
  lastGc: number
  /** My listings that I have not withdrawn (expired ones included: a refresh brings them back). */
  mine: Map<string, ListingInput>
  /** My withdrawn listing ids, which I may list again. */
  delisted: Set<string>
  /** Highest version this replica has held per key: a stored version must never go back (no rollback). */
  seen: Map<string, number>
}

interface Message {
  from: number
  to: number
  update: Uint8Array
  sentAt: number
}

export interface Stats {
  steps: number
  published: number
  updated: number
  delisted: number
  relisted: number
  disconnects: number
  reconnects: number
  delivered: number
  dropped: number
  outOfOrder: number
  needsSync: number
  syncs: number
  collected: number
  fakeMinutes: number
}

/** Why a run failed, with the seed and the last actions, so that the failure can be replayed. */
export class ConvergenceFailure extends Error {
  override name = 'ConvergenceFailure'
}

const decoder = new TextDecoder()

/**
 * An in-memory network of {@link MarketplaceDoc} replicas in the style of yjs's `TestConnector` (tests/testHelper.js):
 * each replica's own updates are queued per link to every connected replica, and the test decides when (and in which
 * order) they arrive, when peers drop out and come back, and when the shared fake clock moves.
 */
export class TestConnector {
  readonly replicas: Replica[] = []
  readonly stats: Stats = {
    steps: 0,
    published: 0,
    updated: 0,
    delisted: 0,
    relisted: 0,
    disconnects: 0,
    reconnects: 0,
    delivered: 0,
    dropped: 0,
    outOfOrder: 0,
    needsSync: 0,
    syncs: 0,
    collected: 0,
    fakeMinutes: 0
  }
  now: number
  private readonly start: number
  private readonly queue: Message[] = []
  private readonly trace: string[] = []
  /** Every envelope a seller signed, by its text: a replica may only ever hold one of these. */
  private readonly signed = new Map<string, { seller: string; record: ListingRecord }>()
  /** Each seller's latest write per key: after convergence, every replica shows exactly the live ones. */
  private readonly latest = new Map<string, ListingRecord>()
  private nextListing = 0

  private constructor(
    readonly r: Prng,
    readonly options: ConnectorOptions,
    readonly label: string,
    now: number
  ) {
    this.now = now
    this.start = now
  }

  /**
   * N replicas with seller identities derived from the generator (so that peer ids, hence client ids, are
   * reproducible). `label` names the run in failures (e.g. its seed).
   */
  static async create(r: Prng, options: ConnectorOptions, label: string): Promise<TestConnector> {
    const tc = new TestConnector(r, options, label, 1_700_000_000_000 + r.int(0, 1_000_000_000))
    for (let index = 0; index < options.peers; index++) {
      const key = await generateKeyPairFromSeed('Ed25519', r.bytes(32))
      const id = peerIdFromPrivateKey(key).toString()
      const market = new MarketplaceDoc({ peerId: id, privateKey: key, now: () => tc.now })
      const replica: Replica = {
        index,
        id,
        key,
        market,
        online: true,
        offlineSince: 0,
        lastGc: tc.now,
        mine: new Map(),
        delisted: new Set(),
        seen: new Map()
      }
      market.addEventListener('update', (e) => {
        if (e.detail.local) tc.broadcast(replica, e.detail.update)
      })
      tc.replicas.push(replica)
    }
    return tc
  }

  private log(line: string): void {
    this.trace.push(`[${this.stats.steps}] t+${Math.round((this.now - this.start) / 1000)}s ${line}`)
    if (this.trace.length > 40) this.trace.shift()
  }

  fail(message: string, cause?: unknown): never {
    const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : ''
    throw new ConvergenceFailure(
      `${this.label}, step ${this.stats.steps}: ${message}${detail === '' ? '' : `\n  ${detail}`}\n` +
        `last actions:\n  ${this.trace.join('\n  ')}`,
      { cause }
    )
  }

  /** An honest node's own write goes to every peer it is connected to (GossipSub), never while it is offline. */
  private broadcast(from: Replica, update: Uint8Array): void {
    if (!from.online) return
    for (const to of this.replicas) {
      if (to !== from && to.online) this.queue.push({ from: from.index, to: to.index, update, sentAt: this.now })
    }
  }

  get pending(): number {
    return this.queue.length
  }

  // ---- writes ---------------------------------------------------------------------------------------------------

  private ttl(): number {
    return this.r.int(this.options.ttlMs[0], this.options.ttlMs[1])
  }

  private async write(replica: Replica, action: () => Promise<unknown>, id: string): Promise<void> {
    await action()
    const key = listingKey(replica.id, id)
    const bytes = replica.market.entry(key)
    if (bytes == null) this.fail(`${key} missing right after its seller wrote it`)
    const { record } = verifyRecord(bytes)
    this.signed.set(decoder.decode(bytes), { seller: replica.id, record })
    this.latest.set(key, record)
  }

  async publishNew(replica: Replica): Promise<void> {
    let id = listingId(this.r)
    if (replica.mine.has(id) || replica.delisted.has(id)) id = `${id}.${this.nextListing++}`
    const input = randomListingInput(this.r, id, this.ttl())
    this.log(`#${replica.index} publishes ${id} (ttl ${Math.round((input.ttlMs ?? 0) / 1000)}s)`)
    await this.write(replica, () => replica.market.publish(input), id)
    replica.mine.set(id, input)
    this.stats.published++
  }

  /** Changes the name and/or the price of one of my listings (and refreshes its TTL, as any publish does). */
  async updateMine(replica: Replica): Promise<boolean> {
    if (replica.mine.size === 0) return false
    const id = this.r.pick([...replica.mine.keys()])
    const previous = replica.mine.get(id)!
    const input: ListingInput = { ...previous, ttlMs: this.ttl() }
    const what = this.r.int(0, 2)
    if (what !== 1) input.name = text(this.r, 1, 60)
    if (what !== 0) input.price = { ...previous.price, amount: otherAmount(this.r, previous.price.amount) }
    this.log(`#${replica.index} updates ${id} (${['name', 'price', 'name+price'][what]})`)
    await this.write(replica, () => replica.market.publish(input), id)
    replica.mine.set(id, input)
    this.stats.updated++
    return true
  }

  async delistMine(replica: Replica): Promise<boolean> {
    if (replica.mine.size === 0) return false
    const id = this.r.pick([...replica.mine.keys()])
    this.log(`#${replica.index} delists ${id}`)
    await this.write(replica, () => replica.market.delist(id), id)
    replica.mine.delete(id)
    replica.delisted.add(id)
    this.stats.delisted++
    return true
  }

  async relist(replica: Replica): Promise<boolean> {
    if (replica.delisted.size === 0) return false
    const id = this.r.pick([...replica.delisted])
    const input = randomListingInput(this.r, id, this.ttl())
    this.log(`#${replica.index} lists ${id} again`)
    await this.write(replica, () => replica.market.publish(input), id)
    replica.delisted.delete(id)
    replica.mine.set(id, input)
    this.stats.relisted++
    return true
  }

  collect(replica: Replica): void {
    const n = replica.market.collectGarbage()
    replica.lastGc = this.now
    if (n > 0) this.log(`#${replica.index} collects ${n}`)
    this.stats.collected += n
  }

  // ---- network ----------------------------------------------------------------------------------------------------

  /** Any rejection during a state sync between honest peers is a failure. */
  sync(a: Replica, b: Replica): void {
    this.stats.syncs++
    for (const [to, from] of [
      [a, b],
      [b, a]
    ] as const) {
      try {
        to.market.applyRemote(from.market.diff(to.market.stateVector()))
      } catch (err) {
        this.fail(`#${to.index} rejected the state sync from #${from.index}`, err)
      }
    }
  }

  disconnect(replica: Replica): void {
    replica.online = false
    replica.offlineSince = this.now
    const kept = this.queue.filter((m) => m.from !== replica.index && m.to !== replica.index)
    this.stats.dropped += this.queue.length - kept.length
    this.queue.splice(0, this.queue.length, ...kept)
    this.stats.disconnects++
    this.log(`#${replica.index} disconnects`)
  }

  /** Coming back, a node syncs both ways with every peer it connects to (as the network layer does). */
  reconnect(replica: Replica): void {
    replica.online = true
    this.stats.reconnects++
    this.log(`#${replica.index} reconnects`)
    for (const other of this.r.shuffle(this.replicas)) {
      if (other !== replica && other.online) this.sync(replica, other)
    }
  }

  /** Delivers one queued message; one that lacks an earlier update makes the two peers sync. */
  deliver(index: number): void {
    const [m] = this.queue.splice(index, 1)
    if (m == null) return
    const to = this.replicas[m.to]!
    const from = this.replicas[m.from]!
    if (this.queue.slice(0, index).some((o) => o.from === m.from && o.to === m.to)) this.stats.outOfOrder++
    this.stats.delivered++
    try {
      to.market.applyRemote(m.update)
    } catch (err) {
      if (err instanceof RejectedUpdateError && err.needsSync) {
        this.stats.needsSync++
        this.log(`#${to.index} needs a sync with #${from.index} (${err.message})`)
        this.sync(to, from)
        return
      }
      this.fail(`#${to.index} rejected an update of honest #${from.index} sent at t+${m.sentAt - this.start}ms`, err)
    }
  }

  /** Delivers a random subset of the queued messages, in random order. */
  flushSome(): void {
    if (this.queue.length === 0) return
    const n = this.r.int(1, Math.ceil(this.queue.length / 2))
    this.log(`delivers ${n} of ${this.queue.length}`)
    for (let i = 0; i < n && this.queue.length > 0; i++) this.deliver(this.r.int(0, this.queue.length - 1))
  }

  /** Delivers every queued message (random order), including those the deliveries cause. */
  flushAll(): void {
    while (this.queue.length > 0) this.deliver(this.r.int(0, this.queue.length - 1))
  }

  /**
   * Moves the clock, one tick at a time: before each tick, overdue messages are delivered and overdue peers come back;
   * after it, nodes whose GC timer fired collect.
   */
  advance(ms: number): void {
    this.log(`clock +${Math.round(ms / 1000)}s`)
    const target = this.now + ms
    while (this.now < target) {
      const next = Math.min(target, this.now + this.options.tickMs)
      for (const replica of this.replicas) {
        if (!replica.online && replica.offlineSince + this.options.maxOfflineMs < next) this.reconnect(replica)
      }
      for (;;) {
        const overdue = this.queue.findIndex((m) => m.sentAt + this.options.maxLatencyMs < next)
        if (overdue < 0) break
        this.deliver(overdue)
      }
      this.now = next
      for (const replica of this.r.shuffle(this.replicas)) {
        if (replica.lastGc + this.options.gcIntervalMs <= this.now) this.collect(replica)
      }
    }
    this.stats.fakeMinutes = Math.round((this.now - this.start) / 60_000)
  }

  // ---- invariants ---------------------------------------------------------------------------------------------------

  /** Envelopes already matched against {@link signed}, by the stored bytes object (one per item and replica). */
  private readonly origins = new WeakMap<Uint8Array, { seller: string; record: ListingRecord }>()

  /**
   * What a replica must show: every stored entry is an envelope its seller signed, under the seller's key, never
   * older than a version this replica held before; `listings()` is exactly the stored, unexpired listings (compared
   * by key and version, which identify a signed record; `deep` compares whole records too).
   */
  check(replica: Replica, deep = false): void {
    const expected: Listing[] = []
    for (const [key, bytes] of replica.market.entries()) {
      let origin = this.origins.get(bytes)
      if (origin == null) {
        origin = this.signed.get(decoder.decode(bytes))
        if (origin == null) this.fail(`#${replica.index} holds ${key} with an envelope no seller signed`)
        this.origins.set(bytes, origin)
      }
      const { seller, record } = origin
      if (record.seller !== seller || listingKey(seller, record.id) !== key)
        this.fail(`#${replica.index} holds a record of ${listingKey(record.seller, record.id)} under ${key}`)
      const before = replica.seen.get(key) ?? -1
      if (record.updatedAt < before)
        this.fail(`#${replica.index} rolled ${key} back from version ${before} to ${record.updatedAt}`)
      replica.seen.set(key, record.updatedAt)
      if (record.kind === 'listing' && record.expiresAt > this.now) expected.push(record)
    }
    const shown = sorted(replica.market.listings())
    for (const l of shown) {
      if (l.expiresAt <= this.now) this.fail(`#${replica.index} shows ${l.seller}/${l.id}, expired`)
    }
    const want = sorted(expected)
    const id = (l: Listing) => `${listingKey(l.seller, l.id)}@${l.updatedAt}`
    if (deep || shown.length !== want.length || shown.some((l, i) => id(l) !== id(want[i]!))) {
      expect(shown, `${this.label}, step ${this.stats.steps}: #${replica.index} listings()`).toEqual(want)
    }
  }

  checkAll(deep = false): void {
    for (const replica of this.replicas) this.check(replica, deep)
  }

  /** The live listings every replica must show once converged: each seller's latest write, when unexpired. */
  expectedListings(): Listing[] {
    const out: Listing[] = []
    for (const record of this.latest.values()) {
      if (record.kind === 'listing' && record.expiresAt > this.now) out.push(record)
    }
    return sorted(out)
  }

  /** Everyone back online, every message delivered, then a full pairwise sync. */
  settle(): void {
    this.log('settles')
    for (const replica of this.replicas) if (!replica.online) this.reconnect(replica)
    this.flushAll()
    for (const a of this.replicas) for (const b of this.replicas) if (a !== b) this.sync(a, b)
    this.flushAll()
  }
}

export function sorted(listings: readonly Listing[]): Listing[] {
  return [...listings].sort((a, b) => {
    const x = listingKey(a.seller, a.id)
    const y = listingKey(b.seller, b.id)
    return x < y ? -1 : x > y ? 1 : 0
  })
}

/** What must be identical on every replica once converged. */
export function fingerprint(market: MarketplaceDoc) {
  return {
    listings: sorted(market.listings()),
    map: Object.fromEntries([...market.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    stateVector: market.stateVector()
  }
}
