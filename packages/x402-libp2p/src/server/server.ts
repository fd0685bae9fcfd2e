import {
  type Connection,
  type Logger,
  type PeerId,
  type Stream,
  serviceCapabilities,
  TypedEventEmitter
} from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { RateLimiter } from '@libp2p/utils'
import type { PaymentRequired, PaymentRequirements } from '@x402/core/types'
import type { Datastore } from 'interface-datastore'
import { toHex } from 'viem'
import { Channel, type FrameSink } from '../channel.ts'
import {
  DEFAULT_CHALLENGE_RETENTION_MS,
  DEFAULT_CHALLENGE_TTL_SECONDS,
  DEFAULT_CLOCK_SKEW_SECONDS,
  DEFAULT_DEFERRED_CREDIT_LIMIT,
  DEFAULT_EXECUTION_TIMEOUT_MS,
  DEFAULT_FAILED_CALLS_WINDOW_SECONDS,
  DEFAULT_FRAME_TIMEOUT_MS,
  DEFAULT_MAX_BODY_SIZE,
  DEFAULT_MAX_CHALLENGES_PER_PEER,
  DEFAULT_MAX_EXCHANGES_PER_SESSION,
  DEFAULT_MAX_FAILED_CALLS_PER_PAYER,
  DEFAULT_MAX_INBOUND_STREAMS,
  DEFAULT_MAX_PENDING_CALLS,
  DEFAULT_MAX_PENDING_CALLS_PER_PAYER,
  DEFAULT_MAX_SESSIONS_PER_CONNECTION,
  DEFAULT_MAX_STORED_CHALLENGES,
  DEFAULT_MIN_SETTLE_WINDOW_SECONDS,
  DEFAULT_RATE_LIMIT_PER_SECOND,
  DEFAULT_RECORD_TTL_MS,
  DEFAULT_RESOLVE_INTERVAL_MS,
  DEFAULT_SERVER_SESSION_IDLE_TIMEOUT_MS,
  DEFAULT_SETTLEMENT_TIMEOUT_MS,
  DEFAULT_VALIDATE_TIMEOUT_MS,
  GC_INTERVAL_MS,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  SESSION_PROTOCOL_VERSION,
  X402_VERSION
} from '../constants.ts'
import { InvalidRequestError, InvalidResourceError, ProtocolViolationError, X402Error } from '../errors.ts'
import { jsonBytes } from '../json.ts'
import { buildRequirements, requirementsHash } from '../requirements.ts'
import type { Settler } from '../settlement/settler.ts'
import { BatchStore } from '../store/batches.ts'
import { JsonStore } from '../store/json-store.ts'
import type { CallRecord, SettlementOrder } from '../store/records.ts'
import { streamError } from '../stream-error.ts'
import type { WireMessage } from '../wire.ts'
import { ChallengeBook } from './challenges.ts'
import { PayerDefaults } from './defaults.ts'
import { type PaidCallInput, PaidCalls } from './paid.ts'
import { PendingCalls } from './pending.ts'
import { Resolver } from './resolver.ts'
import { answerRecord, sendError, sendResult } from './respond.ts'
import { ServerSession, type SessionLimits } from './session.ts'
import type {
  X402HandlerContext,
  X402Request,
  X402Resource,
  X402Server,
  X402ServerComponents,
  X402ServerEvents,
  X402ServerInit,
  X402ServerStats
} from './types.ts'
import { V1Handler } from './v1.ts'

/** Resolved server settings. */
export interface ServerConfig {
  maxBodySize: number
  maxResultSize: number
  frameTimeoutMs: number
  challengeTtlSeconds: number
  clockSkewSeconds: number
  minSettleWindowSeconds: number
  executionTimeoutMs: number
  recordTtlMs: number
  confirmationTimeoutMs: number
  challengeRetentionMs: number
  validateTimeoutMs: number
  /** Most a payer may owe in `deferred` calls not yet settled (atomic units). */
  deferredCreditLimit: bigint
}

/** @internal — use the {@link x402Server} factory. */
export class X402ServerImpl extends TypedEventEmitter<X402ServerEvents> implements X402Server {
  readonly [Symbol.toStringTag] = '@betar/x402-server'
  readonly [serviceCapabilities]: string[] = ['@betar/x402-server']

  readonly protocol: string
  /** `/x402/libp2p/1.0.0` unless disabled. */
  readonly protocolV1: string | undefined
  /** `/x402/libp2p/2.1.0` (sessions) unless disabled. */
  readonly sessionProtocol: string | undefined
  private readonly sessionLimits: SessionLimits & { maxPerConnection: number }
  readonly config: ServerConfig
  readonly log: Logger
  readonly challenges: ChallengeBook
  readonly calls: JsonStore<CallRecord>
  readonly nonces: JsonStore<{ peer: string; correlationId: string }>
  /** What the members of a settlement batch share (raw transactions, member ids), stored once per batch. */
  readonly batches: BatchStore
  /** Paid calls not yet terminal, bounded across all peers. */
  readonly pending: PendingCalls
  /** Payers whose deferred settlement failed: refused deferred calls until cleared (spec §7.7). */
  readonly defaults: PayerDefaults
  /** Resumes pending calls until they are terminal (spec §7.3). */
  readonly resolver: Resolver
  private readonly components: X402ServerComponents
  private readonly init: X402ServerInit
  private readonly registry = new Map<string, X402Resource>()
  private readonly limiter: RateLimiter
  /** Unpaid challenges per peer per challenge lifetime: each one is stored, so a hostile peer must not mint them freely. */
  private readonly challengeLimiter: RateLimiter
  /** Failed handlers per payer (refunds, unpaid runs): a payer failing calls on purpose is refused for a while. */
  private readonly failures: RateLimiter
  private readonly maxFailures: number
  private readonly paid: PaidCalls
  private gcTimer: ReturnType<typeof setInterval> | undefined
  private shutdown = new AbortController()
  private running = false

  constructor(components: X402ServerComponents, init: X402ServerInit = {}) {
    super()
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('betar:x402:server')
    this.protocol = `${init.protocolPrefix ?? ''}/${PROTOCOL_NAME}/${PROTOCOL_VERSION}`
    this.protocolV1 = init.v1 === false ? undefined : `${init.protocolPrefix ?? ''}/${PROTOCOL_NAME}/1.0.0`
    const sessions = init.sessions ?? true
    this.sessionProtocol =
      sessions === false ? undefined : `${init.protocolPrefix ?? ''}/${PROTOCOL_NAME}/${SESSION_PROTOCOL_VERSION}`
    const limits = sessions === true || sessions === false ? {} : sessions
    this.sessionLimits = {
      maxExchanges: limits.maxExchanges ?? DEFAULT_MAX_EXCHANGES_PER_SESSION,
      idleTimeoutMs: limits.idleTimeoutMs ?? DEFAULT_SERVER_SESSION_IDLE_TIMEOUT_MS,
      maxPerConnection: limits.maxPerConnection ?? DEFAULT_MAX_SESSIONS_PER_CONNECTION
    }
    this.config = {
      maxBodySize: init.maxBodySize ?? DEFAULT_MAX_BODY_SIZE,
      maxResultSize: init.maxResultSize ?? 4 * DEFAULT_MAX_BODY_SIZE,
      frameTimeoutMs: init.frameTimeoutMs ?? DEFAULT_FRAME_TIMEOUT_MS,
      challengeTtlSeconds: init.challengeTtlSeconds ?? DEFAULT_CHALLENGE_TTL_SECONDS,
      clockSkewSeconds: init.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS,
      minSettleWindowSeconds: init.minSettleWindowSeconds ?? DEFAULT_MIN_SETTLE_WINDOW_SECONDS,
      executionTimeoutMs: init.executionTimeoutMs ?? DEFAULT_EXECUTION_TIMEOUT_MS,
      recordTtlMs: init.recordTtlMs ?? DEFAULT_RECORD_TTL_MS,
      confirmationTimeoutMs: init.confirmationTimeoutMs ?? DEFAULT_SETTLEMENT_TIMEOUT_MS,
      challengeRetentionMs: init.challengeRetentionMs ?? DEFAULT_CHALLENGE_RETENTION_MS,
      validateTimeoutMs: init.validateTimeoutMs ?? DEFAULT_VALIDATE_TIMEOUT_MS,
      deferredCreditLimit: init.deferredCreditLimit ?? DEFAULT_DEFERRED_CREDIT_LIMIT
    }
    this.defaults = new PayerDefaults(components.datastore, this.config.recordTtlMs)
    this.challenges = new ChallengeBook(components.datastore, {
      maxStored: init.maxStoredChallenges ?? DEFAULT_MAX_STORED_CHALLENGES,
      retentionMs: this.config.challengeRetentionMs
    })
    this.calls = new JsonStore(components.datastore, '/betar/x402/calls')
    this.nonces = new JsonStore(components.datastore, '/betar/x402/nonces')
    this.batches = new BatchStore(components.datastore)
    this.pending = new PendingCalls(components.datastore, {
      max: init.maxPendingCalls ?? DEFAULT_MAX_PENDING_CALLS,
      maxPerPayer: init.maxPendingCallsPerPayer ?? DEFAULT_MAX_PENDING_CALLS_PER_PAYER
    })
    this.limiter = new RateLimiter({ points: init.rateLimitPerSecond ?? DEFAULT_RATE_LIMIT_PER_SECOND, duration: 1 })
    this.maxFailures = init.maxFailedCallsPerPayer ?? DEFAULT_MAX_FAILED_CALLS_PER_PAYER
    this.failures = new RateLimiter({
      points: this.maxFailures,
      duration: init.failedCallsWindowSeconds ?? DEFAULT_FAILED_CALLS_WINDOW_SECONDS
    })
    this.challengeLimiter = new RateLimiter({
      points: init.maxChallengesPerPeer ?? DEFAULT_MAX_CHALLENGES_PER_PEER,
      duration: this.config.challengeTtlSeconds
    })
    this.paid = new PaidCalls(this)
    this.resolver = new Resolver(
      { log: this.log, resume: (key, timeoutMs) => this.paid.resume(key, timeoutMs) },
      {
        intervalMs: init.resolveIntervalMs ?? DEFAULT_RESOLVE_INTERVAL_MS,
        confirmationTimeoutMs: Math.min(this.config.confirmationTimeoutMs, 5_000)
      }
    )
  }

  /** Aborted when the server stops: running handlers see it. */
  get stopSignal(): AbortSignal {
    return this.shutdown.signal
  }

  get settler(): Settler | undefined {
    return this.init.settler
  }

  get datastore(): Datastore {
    return this.components.datastore
  }

  /** The peer id of a stored record (parsed once per peer: every event of every call names it). */
  peerOf(peer: string): PeerId {
    let id = this.peerIds.get(peer)
    if (id == null) {
      id = peerIdFromString(peer)
      if (this.peerIds.size >= 1_024) this.peerIds.delete(this.peerIds.keys().next().value as string)
      this.peerIds.set(peer, id)
    }
    return id
  }

  private readonly peerIds = new Map<string, PeerId>()

  async start(): Promise<void> {
    if (this.running) return
    this.shutdown = new AbortController()
    // Before serving: know every challenge and every unfinished paid call, and resume the latter (spec §7.3).
    await this.challenges.load()
    await this.defaults.load()
    const pending = await this.pending.load()
    for (const [key, validBefore] of pending) {
      // A pending entry whose call is terminal (a crash right after its last write) holds no room or credit.
      if (!(await this.paid.reconcile(key))) this.resolver.schedule(key, validBefore, true)
    }
    this.resolver.start()
    const maxInboundStreams = this.init.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS
    await this.components.registrar.handle(this.protocol, (stream, connection) => this.onStream(stream, connection), {
      maxInboundStreams
    })
    if (this.sessionProtocol != null) {
      await this.components.registrar.handle(
        this.sessionProtocol,
        (stream, connection) => new ServerSession(this, stream, connection, this.sessionLimits).run(),
        { maxInboundStreams: this.sessionLimits.maxPerConnection }
      )
    }
    if (this.protocolV1 != null) {
      const v1 = new V1Handler(this)
      await this.components.registrar.handle(this.protocolV1, (stream, connection) => v1.onStream(stream, connection), {
        maxInboundStreams
      })
    }
    this.gcTimer = setInterval(() => {
      this.gc().catch((err: unknown) => this.log.error('gc failed - %e', err))
    }, GC_INTERVAL_MS)
    this.gcTimer.unref?.()
    this.running = true
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    clearInterval(this.gcTimer)
    this.resolver.stop()
    this.shutdown.abort(new Error('x402 server stopped'))
    await this.components.registrar.unhandle(this.protocol)
    if (this.sessionProtocol != null) await this.components.registrar.unhandle(this.sessionProtocol)
    if (this.protocolV1 != null) await this.components.registrar.unhandle(this.protocolV1)
  }

  register(name: string, resource: X402Resource): void {
    if (this.registry.has(name)) throw new InvalidResourceError(`resource "${name}" is already registered`)
    if (new TextEncoder().encode(name).byteLength === 0 || name.length > 256) {
      throw new InvalidResourceError('resource names are 1…256 bytes')
    }
    if (resource.price != null) {
      if (this.init.settler == null || this.init.asset == null) {
        throw new InvalidResourceError('a paid resource needs the server to have a settler and an asset')
      }
      this.quote(resource) // validates the price now rather than on the first call
      if (this.settlementOrder(resource) === 'before' && this.init.settler?.refunder == null) {
        throw new InvalidResourceError(
          "settlement 'before' (the default) needs a settler with a refunder, so a failed handler is refunded: " +
            "give the settler one (walletRefunder) or register the resource with settlement: 'after'"
        )
      }
      if (
        this.settlementOrder(resource) === 'deferred' &&
        (this.init.settler?.verifyDeferred == null || this.init.settler?.refunder == null)
      ) {
        // (A deferred call whose handler outlives its settlement window is settled first, and refunded if it fails.)
        throw new InvalidResourceError(
          "settlement 'deferred' needs a settler that checks authorizations locally, settles in batches and refunds: " +
            'localSettler'
        )
      }
    }
    this.registry.set(name, resource)
  }

  unregister(name: string): void {
    this.registry.delete(name)
  }

  resources(): string[] {
    return [...this.registry.keys()]
  }

  requirements(name: string): PaymentRequirements[] {
    const resource = this.registry.get(name)
    return resource == null || resource.price == null ? [] : [this.quote(resource)]
  }

  resource(name: string): X402Resource | undefined {
    return this.registry.get(name)
  }

  /** When a paid resource's payment settles (spec §7.5). */
  settlementOrder(resource: X402Resource): SettlementOrder {
    return resource.settlement ?? 'before'
  }

  /**
   * Runs a resource's request validator (spec §5 step 4) under `validateTimeoutMs`. Throws INVALID_REQUEST: with the
   * validator's message for an {@link InvalidRequestError}, otherwise a generic one (the error stays in the local log).
   */
  async validate(resource: X402Resource, request: X402Request): Promise<void> {
    if (resource.validate == null) return
    const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.config.validateTimeoutMs)])
    try {
      await raceAbort(Promise.resolve(resource.validate(request, { signal })), signal)
    } catch (err) {
      if (err instanceof InvalidRequestError) throw X402Error.of('INVALID_REQUEST', err.message.slice(0, 1024))
      if (this.shutdown.signal.aborted) throw err
      this.log.error('validator of %s failed - %e', request.resource, err)
      throw X402Error.of('INVALID_REQUEST', 'the request could not be validated')
    }
  }

  /** The requirement a paid resource asks for now. */
  quote(resource: X402Resource): PaymentRequirements {
    const payTo = this.init.payTo ?? this.init.settler?.payTo
    if (resource.price == null || this.init.asset == null || payTo == null) {
      throw new InvalidResourceError('no price, asset or payee for this resource')
    }
    return buildRequirements(resource.price, this.init.asset, payTo)
  }

  /** Counts one request from `peer`; throws RATE_LIMITED over the per-second budget. */
  rateLimit(peer: PeerId): void {
    try {
      this.limiter.consume(peer.toString())
    } catch {
      throw X402Error.of('RATE_LIMITED', 'too many requests; slow down', { retryAfterMs: 1_000 })
    }
  }

  /** A paid call's handler failed (refunded, or never settled): counts against its payer (spec §10.2). */
  handlerFailed(payer: string): void {
    this.failures.penalty(payer.toLowerCase())
  }

  /**
   * Throws RATE_LIMITED when `payer` had `maxFailedCallsPerPayer` failed handlers in the window: each cost the seller a
   * refund transaction or an unpaid run, so more are refused before anything is verified or reserved.
   */
  checkFailures(payer: string): void {
    const state = this.failures.get(payer.toLowerCase())
    if (state != null && state.consumedPoints >= this.maxFailures) {
      throw X402Error.of('RATE_LIMITED', 'too many failed paid calls from this payer; retry later', {
        retryAfterMs: Math.max(1_000, state.msBeforeNext)
      })
    }
  }

  /** A challenge was answered (paid or not): it no longer counts against the peer's unpaid-challenge limit. */
  challengeAnswered(peer: string): void {
    this.challengeLimiter.reward(peer)
  }

  /** The shared paid pipeline (both wire versions). */
  processPaid(peer: PeerId, call: PaidCallInput): Promise<CallRecord> {
    return this.paid.process(peer, call)
  }

  async clearDefault(payer: string): Promise<boolean> {
    return this.defaults.clear(payer)
  }

  stats(): X402ServerStats {
    return { pendingCalls: this.pending.size, storedChallenges: this.challenges.size }
  }

  async gc(): Promise<number> {
    const now = Date.now()
    const counts = await Promise.all([
      this.challenges.gc(now),
      this.nonces.gc(now),
      this.calls.gc(now),
      this.batches.gc(now),
      this.defaults.gc(now)
    ])
    return counts.reduce((a, b) => a + b, 0)
  }

  /** A `/x402/libp2p/2.0.0` stream: one exchange (spec §2). */
  private async onStream(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer
    const channel = new Channel(stream, this.config)
    let correlationId = 'unknown'
    try {
      const first = await channel.read()
      correlationId = first.correlationId
      this.rateLimit(peer)
      if (first.type === 'REQUEST') {
        if (await this.answerRequest(channel, peer, first)) await this.awaitPayment(channel, peer, correlationId)
      } else if (first.type === 'PAID_REQUEST') await this.answerPaid(channel, peer, first)
      else throw new ProtocolViolationError(`a ${first.type} frame cannot open an exchange`)
      await channel.close()
    } catch (err) {
      await this.fail(channel, correlationId, err)
    }
  }

  /** Answers a failure on the channel: typed errors become ERROR frames; anything else resets the stream. */
  async fail(channel: Channel, correlationId: string, err: unknown): Promise<void> {
    if (err instanceof ProtocolViolationError) {
      this.log('protocol violation from %s - %s', channel.stream.id, err.message)
      try {
        await sendError(channel, correlationId, X402Error.of('INVALID_MESSAGE', err.message))
        // Drop whatever else the peer sends, but let our error frame drain: an immediate reset can discard it
        // (observed on QUIC). close() aborts by itself if the peer does not cooperate in time.
        await channel.stream.closeRead()
        await channel.close({ signal: AbortSignal.timeout(5_000) })
      } catch {
        channel.abort(err)
      }
      return
    }
    if (err instanceof X402Error) {
      await sendError(channel, correlationId, err).catch(() => {})
      await channel.close()
      return
    }
    this.log.error('x402 exchange failed - %e', err)
    channel.abort(streamError(err))
  }

  /**
   * Answers a REQUEST (spec §4.1, §4.2) with the free resource's result or, for a paid one, a challenge. Resolves
   * `true` when a challenge was sent.
   */
  async answerRequest(
    sink: FrameSink,
    peer: X402Request['peer'],
    msg: Extract<WireMessage, { type: 'REQUEST' }>
  ): Promise<boolean> {
    const { correlationId, request } = msg
    const resource = this.registry.get(request.resource)
    if (resource == null) throw X402Error.of('UNKNOWN_RESOURCE', `no resource "${request.resource}"`)
    if (request.body.byteLength > (resource.maxBodySize ?? this.config.maxBodySize)) {
      throw new ProtocolViolationError('request body over the resource limit')
    }
    // Before a challenge is issued: input the resource refuses is never signed for.
    await this.validate(resource, { ...request, peer, correlationId })

    if (resource.price == null) {
      const output = await this.execute(resource, { ...request, peer, correlationId }, {})
      await sendResult(sink, correlationId, output, undefined)
      return false
    }

    const issued = await this.issueChallenge(peer, correlationId, request.resource, resource)
    await sink.write({
      type: 'PAYMENT_REQUIRED',
      correlationId,
      paymentRequired: {
        paymentRequired: jsonBytes(issued.paymentRequired),
        challenge: issued.challenge,
        expiresAt: BigInt(issued.expiresAt)
      }
    })
    return true
  }

  /** After a challenge on a stream of its own: the buyer pays on the same stream (or on a new one, same id). */
  private async awaitPayment(channel: Channel, peer: PeerId, correlationId: string): Promise<void> {
    let next: WireMessage
    try {
      next = await channel.read()
    } catch (err) {
      // Silent or gone: cut the stream (spec §2). The challenge stays valid for a PAID_REQUEST on a new stream.
      channel.abort(streamError(err))
      return
    }
    if (next.type !== 'PAID_REQUEST' || next.correlationId !== correlationId) {
      throw new ProtocolViolationError('expected a PAID_REQUEST for the same correlation id')
    }
    await this.answerPaid(channel, peer, next)
  }

  /** Answers a PAID_REQUEST (spec §5): the outcome of the paid call, stored before it is sent. */
  async answerPaid(sink: FrameSink, peer: PeerId, msg: Extract<WireMessage, { type: 'PAID_REQUEST' }>): Promise<void> {
    const { request } = msg
    const record = await this.paid.process(peer, { correlationId: msg.correlationId, ...request })
    await answerRecord(sink, record)
  }

  /**
   * Issues a challenge for a paid resource (spec §4.2): 32 random bytes bound to (peer, correlation id, resource,
   * requirement), persisted until it expires, plus the x402 v2 PaymentRequired to send.
   */
  async issueChallenge(
    peer: PeerId,
    correlationId: string,
    name: string,
    resource: X402Resource
  ): Promise<{
    requirements: PaymentRequirements
    challenge: Uint8Array
    expiresAt: number
    paymentRequired: PaymentRequired
  }> {
    if (resource.challenge === false) {
      // Stateless resource: no challenge is stored; the buyer pays up front with its own nonce (spec §4.3).
      throw X402Error.of('PAYMENT_REQUIRED', 'pay up front with PAID_REQUEST', {
        ...this.paymentRequired(name, resource, [this.quote(resource)])
      })
    }
    try {
      this.challengeLimiter.consume(peer.toString())
    } catch {
      throw X402Error.of('RATE_LIMITED', 'too many unpaid challenges from this peer')
    }
    const key = `${peer}/${correlationId}`
    if ((await this.calls.get(key)) != null) {
      throw X402Error.of('NONCE_USED', 'correlation id already used for a paid call; re-ask with PAID_REQUEST')
    }
    const previous = await this.challenges.get(key)
    if (previous?.consumed === true) throw X402Error.of('NONCE_USED', 'correlation id already used')
    const requirements = this.quote(resource)
    const challenge = crypto.getRandomValues(new Uint8Array(32))
    const expiresAt = Math.floor(Date.now() / 1000) + this.config.challengeTtlSeconds
    await this.challenges.issue(key, {
      peer: peer.toString(),
      correlationId,
      resource: name,
      requirementsHash: requirementsHash(requirements),
      expiresAt,
      consumed: false,
      nonce: toHex(challenge)
    })
    const paymentRequired = this.paymentRequired(name, resource, [requirements])
    return { requirements, challenge, expiresAt, paymentRequired }
  }

  /** The x402 v2 PaymentRequired for a resource (spec §3). */
  paymentRequired(name: string, resource: X402Resource, accepts: PaymentRequirements[]): PaymentRequired {
    return {
      x402Version: X402_VERSION,
      error: 'payment required',
      resource: {
        url: `libp2p://${this.components.peerId}/${encodeURIComponent(name)}`,
        ...(resource.description != null ? { description: resource.description } : {}),
        ...(resource.mimeType != null ? { mimeType: resource.mimeType } : {})
      },
      accepts
    }
  }

  /** Runs a handler under its time limit and the server's stop signal. */
  async execute(
    resource: X402Resource,
    request: X402Request,
    context: Omit<X402HandlerContext, 'signal'>
  ): Promise<Uint8Array | AsyncIterable<Uint8Array>> {
    const signal = AbortSignal.any([
      this.shutdown.signal,
      AbortSignal.timeout(resource.executionTimeoutMs ?? this.config.executionTimeoutMs)
    ])
    return raceAbort(Promise.resolve(resource.handler(request, { ...context, signal })), signal)
  }
}

/** `task`, or a rejection as soon as `signal` aborts (the task is left to finish on its own). */
function raceAbort<T>(task: Promise<T>, signal: AbortSignal): Promise<T> {
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = (): void => reject(new Error(`aborted: ${String(signal.reason)}`))
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
  task.catch(() => {})
  return Promise.race([task, aborted])
}
