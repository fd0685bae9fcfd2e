import { type Logger, type PeerId, type Stream, serviceCapabilities, TypedEventEmitter } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { isMultiaddr, type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import type { PaymentPayload, PaymentRequirements, ResourceInfo, SettleResponse } from '@x402/core/types'
import { type Hex, toHex } from 'viem'
import { Channel } from '../channel.ts'
import {
  DEFAULT_CLIENT_MAX_TIMEOUT_SECONDS,
  DEFAULT_MAX_BODY_SIZE,
  DEFAULT_MAX_CONCURRENT_CALLS_PER_PEER,
  DEFAULT_MAX_OUTBOUND_STREAMS,
  DEFAULT_SESSION_IDLE_TIMEOUT_MS,
  DEFAULT_VERIFY_TIMEOUT_MS,
  MAX_EXCHANGES_PER_CLIENT_SESSION,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  SESSION_PROTOCOL_VERSION
} from '../constants.ts'
import {
  CallConflictError,
  CallNotFoundError,
  ErrorCode,
  ExecutionFailedError,
  InvalidCallBodyError,
  PaymentInterruptedError,
  PaymentNotApprovedError,
  PaymentTakenError,
  ProtocolViolationError,
  type RefundInfo,
  ResultTooLargeError,
  SessionClosedError,
  X402Error
} from '../errors.ts'
import { jsonBytes, parseJsonBytes } from '../json.ts'
import { parsePaymentRequiredBytes, parsePaymentRequiredValue, parseSettleResponseBytes } from '../payment.ts'
import type { PaymentAsset } from '../requirements.ts'
import type { AuthorizationRef } from '../settlement/authorization.ts'
import { sleep } from '../sleep.ts'
import { streamError } from '../stream-error.ts'
import type { V1EvmPayload } from '../v1/types.ts'
import type { WireError, WireMessage } from '../wire.ts'
import { approve } from './approval.ts'
import { SpendingBudget } from './budget.ts'
import type { CallJournalEntry } from './journal.ts'
import { type CallChannel, SessionPool } from './session.ts'
import { signExactPayment } from './sign.ts'
import { StreamSlots } from './stream-slots.ts'
import type {
  CallOptions,
  CallResult,
  X402Client,
  X402ClientComponents,
  X402ClientEvents,
  X402ClientInit
} from './types.ts'
import { callV1, toV1Envelope, type V1CallContext } from './v1.ts'
import { type PaymentCheck, PaymentVerifier } from './verify.ts'

type Target = PeerId | Multiaddr | Multiaddr[]

/**
 * Answers after which the same signed payment is re-sent (spec §4.4, §8): the settlement is pending, the seller could
 * not check the payment now (its chain or facilitator was unreachable; nothing was reserved), or asks us to slow down.
 */
const REASK = new Set<number>([ErrorCode.SETTLEMENT_PENDING, ErrorCode.SERVICE_UNAVAILABLE, ErrorCode.RATE_LIMITED])

/**
 * The answers to a re-ask that end a paid call: its stored outcome (spec §7.1). Anything else a re-ask gets — the
 * resource not registered yet after a restart, a malformed answer — says nothing about the payment already sent.
 */
const FINAL_ON_REASK = new Set<number>([ErrorCode.SETTLEMENT_FAILED, ErrorCode.EXECUTION_FAILED])

/** Errors after which no money can have moved, so a budget reservation is released. */
const NOTHING_MOVED = new Set<number>(
  Object.entries(ErrorCode)
    .filter(([name]) => !['SETTLEMENT_PENDING', 'SERVICE_UNAVAILABLE', 'EXECUTION_FAILED'].includes(name))
    .map(([, code]) => code)
)

/** Longest pause a seller's `retryAfterMs` may impose between two re-asks, and the cap of the re-ask back-off. */
const MAX_REASK_DELAY_MS = 10_000

/** A call's body as bytes: a string is sent as its UTF-8 encoding; anything but bytes is refused before any I/O. */
function callBody(input: unknown): Uint8Array {
  if (input instanceof Uint8Array) return input
  if (typeof input === 'string') return new TextEncoder().encode(input)
  throw new InvalidCallBodyError(input)
}

const toBase64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')
const fromBase64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'))

/** Signed payments are kept per seller and correlation id: the same id towards another seller is another call. */
const pendingKey = (peer: PeerId, correlationId: string): string => `${peer}/${correlationId}`

/** A signed payment sent to a seller, until the call's outcome. */
interface SignedPayment {
  peer: PeerId
  /** What re-asks dial: the call's own target (addresses), so a restarted seller is found again. */
  dial: Target
  /** The PAID_REQUEST, re-sent as is on every re-ask. */
  message: WireMessage
  requirements: PaymentRequirements
  authorization: AuthorizationRef
  /** Gives the amount back to the budget. */
  release: () => void
}

/** Turns an ERROR frame into the error the caller sees. */
export function remoteError(e: WireError): X402Error {
  let details: Record<string, unknown> | undefined
  if (e.details.byteLength > 0) {
    try {
      const parsed = parseJsonBytes(e.details, e.details.byteLength, 'details')
      if (parsed != null && typeof parsed === 'object' && !Array.isArray(parsed))
        details = parsed as Record<string, unknown>
    } catch {
      // ignore unreadable details: the code and message still stand
    }
  }
  return new X402Error(e.code, e.message, { retryable: e.retryable, ...(details != null ? { details } : {}) })
}

/** @internal — use the {@link x402Client} factory. */
export class X402ClientImpl extends TypedEventEmitter<X402ClientEvents> implements X402Client {
  readonly [Symbol.toStringTag] = '@betar/x402-client'
  readonly [serviceCapabilities]: string[] = ['@betar/x402-client']
  private readonly components: X402ClientComponents
  private readonly init: X402ClientInit
  private readonly log: Logger
  private readonly budget: SpendingBudget | undefined
  readonly protocol: string
  readonly protocolV1: string | undefined
  private readonly protocols: string[]
  private readonly channelOptions: { maxBodySize: number; frameTimeoutMs: number }
  private readonly maxOutboundStreams: number
  /** Signed, unanswered payments by seller and correlation id: a later call with the same id re-asks, never re-signs. */
  private readonly pending = new Map<string, SignedPayment>()
  /** Checks settlements and refusals on the buyer's own chain reader, when it has one. */
  private readonly verifier: PaymentVerifier | undefined
  /** Streams open to each peer, bounded; the rest wait. */
  private readonly slots: StreamSlots
  /** Calls in progress by the correlation id their caller chose. */
  private readonly calling = new Map<string, Promise<CallResult>>()
  /** Long-lived `/x402/libp2p/2.1.0` streams to sellers, one per connection (spec §2.1); absent when disabled. */
  private readonly sessions: SessionPool | undefined

  constructor(components: X402ClientComponents, init: X402ClientInit = {}) {
    super()
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('betar:x402:client')
    this.budget = init.budget != null ? new SpendingBudget(init.budget) : undefined
    this.protocol = `${init.protocolPrefix ?? ''}/${PROTOCOL_NAME}/${PROTOCOL_VERSION}`
    const versions = init.versions ?? ['2.0.0', '1.0.0']
    if (versions.length === 0) throw new RangeError('offer at least one protocol version')
    this.protocolV1 = versions.includes('1.0.0') ? `${init.protocolPrefix ?? ''}/${PROTOCOL_NAME}/1.0.0` : undefined
    this.protocols = versions.map((v) => `${init.protocolPrefix ?? ''}/${PROTOCOL_NAME}/${v}`)
    this.channelOptions = {
      maxBodySize: init.maxResultSize ?? 4 * DEFAULT_MAX_BODY_SIZE,
      frameTimeoutMs: init.frameTimeoutMs ?? 90_000
    }
    this.maxOutboundStreams = init.maxOutboundStreams ?? DEFAULT_MAX_OUTBOUND_STREAMS
    const sessions = init.sessions ?? true
    this.sessions =
      sessions === false || !versions.includes('2.0.0')
        ? undefined
        : new SessionPool({
            protocol: `${init.protocolPrefix ?? ''}/${PROTOCOL_NAME}/${SESSION_PROTOCOL_VERSION}`,
            fallback: this.protocols,
            maxBodySize: this.channelOptions.maxBodySize,
            frameTimeoutMs: this.channelOptions.frameTimeoutMs,
            idleTimeoutMs: (sessions === true ? undefined : sessions.idleTimeoutMs) ?? DEFAULT_SESSION_IDLE_TIMEOUT_MS,
            maxExchanges: MAX_EXCHANGES_PER_CLIENT_SESSION,
            maxOutboundStreams: this.maxOutboundStreams,
            log: this.log
          })
    this.slots = new StreamSlots(init.maxConcurrentCallsPerPeer ?? DEFAULT_MAX_CONCURRENT_CALLS_PER_PEER)
    this.verifier =
      init.publicClient != null
        ? new PaymentVerifier(init.publicClient, init.verifyTimeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS, this.log)
        : undefined
  }

  /** Stops the re-checks of payments whose fate is still open, and closes the sessions. */
  stop(): void {
    this.verifier?.stop()
    this.sessions?.closeAll()
  }

  budgetRemaining(): bigint | undefined {
    return this.budget?.remaining()
  }

  async call(
    target: Target,
    resource: string,
    input: Uint8Array | string,
    options: CallOptions = {}
  ): Promise<CallResult> {
    const body = callBody(input)
    const id = options.correlationId
    if (id == null) return this.callOnce(target, resource, body, options)
    // Calls naming the same id run one after the other: the second is answered like a re-ask of the first.
    const previous = this.calling.get(id)
    const run = (previous ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.callOnce(target, resource, body, options))
    this.calling.set(id, run)
    try {
      return await run
    } finally {
      if (this.calling.get(id) === run) this.calling.delete(id)
    }
  }

  private async callOnce(
    target: Target,
    resource: string,
    body: Uint8Array,
    options: CallOptions
  ): Promise<CallResult> {
    const signal = options.signal ?? AbortSignal.timeout(this.init.callTimeoutMs ?? 180_000)
    const correlationId = options.correlationId ?? crypto.randomUUID()
    const contentType = options.contentType ?? ''
    const journal = this.init.journal
    if (journal != null && options.correlationId != null) {
      // A journaled call that was paid is this call: answered from the journal or re-asked, never paid again.
      const entry = await journal.get(correlationId, { signal })
      if (entry?.payment != null) {
        const peer = targetPeer(target)
        const other =
          entry.resource !== resource || entry.body !== toBase64(body) || (peer != null && peer !== entry.peer)
        if (other) throw new CallConflictError(correlationId)
        return this.replay(entry, signal)
      }
    }
    // Nothing is signed until the challenge is in: a connection that breaks before then (a fresh connection closed
    // under load, a duplicate connection pruned) is opened again, at no risk of paying twice.
    const { channel, peer, address, stream, first } = await retryUnpaid(signal, async () => {
      const opened = await this.open(target, signal, this.protocols, correlationId)
      try {
        const direct =
          opened.channel.protocol === this.protocolV1 ||
          this.pending.has(pendingKey(opened.peer, correlationId)) ||
          options.preemptive != null
        if (direct) return { ...opened, first: undefined }
        await opened.channel.write(
          { type: 'REQUEST', correlationId, request: { resource, body, contentType } },
          { signal }
        )
        const answer = await opened.channel.read({ signal })
        if (sessionFull(answer)) {
          // The seller's session holds fewer calls than ours: ask again, on a session with room.
          opened.channel.full?.()
          throw new SessionClosedError('the session is full')
        }
        return { ...opened, first: answer }
      } catch (err) {
        opened.channel.abort(streamError(err))
        throw err
      }
    })
    if (channel.protocol === this.protocolV1 && stream != null) {
      return callV1(
        this.v1Context(peer, correlationId, options),
        stream,
        correlationId,
        resource,
        body,
        options.preemptive,
        signal
      )
    }
    try {
      return await this.afterOpening(
        channel,
        { peer, dial: target, address },
        first,
        correlationId,
        resource,
        body,
        options,
        signal
      )
    } catch (err) {
      // Whatever ended the call: its exchange is over (a no-op once its last frame was read).
      channel.abort(streamError(err))
      throw err
    }
  }

  /** The rest of a 2.0.0 call once its channel is open (and, unless paying at once, the first answer is in). */
  private async afterOpening(
    channel: CallChannel,
    seller: { peer: PeerId; dial: Target; address: string },
    first: WireMessage | undefined,
    correlationId: string,
    resource: string,
    body: Uint8Array,
    options: CallOptions,
    signal: AbortSignal
  ): Promise<CallResult> {
    const { peer } = seller
    const contentType = options.contentType ?? ''
    const earlier = this.pending.get(pendingKey(peer, correlationId))
    if (earlier != null) return this.exchange(earlier, channel, signal, true)

    if (options.preemptive != null) {
      const nonce = toHex(crypto.getRandomValues(new Uint8Array(32)))
      return this.pay(
        seller,
        channel,
        { correlationId, resource, body, contentType },
        [options.preemptive],
        nonce,
        options,
        signal
      )
    }

    if (first == null) throw new ProtocolViolationError('no answer to the request')
    this.expectCorrelation(first, correlationId)
    if (first.type === 'RESPONSE') return this.finishResponse(channel, first, correlationId, 0n, signal)
    if (first.type === 'ERROR') {
      const err = remoteError(first.error)
      if (err.code !== ErrorCode.PAYMENT_REQUIRED || err.details == null) throw err
      // A stateless resource: pay up front with our own nonce, on a new stream (spec §4.3).
      const required = parsePaymentRequiredValue(err.details)
      await channel.close()
      const next = (await this.open(peer, signal, this.protocols, correlationId)).channel
      const nonce = toHex(crypto.getRandomValues(new Uint8Array(32)))
      const request = { correlationId, resource, body, contentType }
      try {
        return await this.pay(seller, next, request, required.accepts, nonce, options, signal, required.resource)
      } catch (err) {
        next.abort(streamError(err))
        throw err
      }
    }
    if (first.type !== 'PAYMENT_REQUIRED') throw new ProtocolViolationError(`unexpected ${first.type} frame`)

    const required = parsePaymentRequiredBytes(first.paymentRequired.paymentRequired)
    if (first.paymentRequired.expiresAt < BigInt(Math.floor(Date.now() / 1000))) {
      throw new PaymentNotApprovedError(['the challenge has already expired'])
    }
    const request = { correlationId, resource, body, contentType }
    return this.pay(
      seller,
      channel,
      request,
      required.accepts,
      toHex(first.paymentRequired.challenge),
      options,
      signal,
      required.resource
    )
  }

  /**
   * Dials (or reuses a connection) and opens a channel for one exchange: an exchange on the connection's session
   * (spec §2.1) when the seller has sessions and a `correlationId` is given, else a stream of its own — 2.0.0
   * preferred, 1.0.0 as fallback (`stream` is then set).
   */
  private async open(
    target: Target,
    signal: AbortSignal,
    protocols: string[] = this.protocols,
    correlationId?: string
  ): Promise<{ channel: CallChannel; peer: PeerId; address: string; stream?: Stream }> {
    const connection = await this.components.connectionManager.openConnection(target, { signal })
    const peer = connection.remotePeer
    const remote = connection.remoteAddr.toString()
    const address = remote.includes('/p2p/') ? remote : `${remote}/p2p/${peer}`
    // Over the per-peer bound, wait for one of our calls to this peer to end rather than fail.
    const release = await this.slots.acquire(peer.toString(), signal)
    let stream: Stream
    try {
      const session =
        this.sessions != null && correlationId != null && protocols === this.protocols
          ? await this.sessions.open(connection, correlationId, signal)
          : undefined
      if (session != null && 'channel' in session)
        return { channel: releasing(session.channel, release), peer, address }
      stream =
        session?.stream ??
        (await connection.newStream(protocols, { signal, maxOutboundStreams: this.maxOutboundStreams }))
    } catch (err) {
      release()
      throw err
    }
    stream.addEventListener('close', release, { once: true })
    return { channel: new Channel(stream, this.channelOptions), peer, address, stream }
  }

  private v1Context(peer: PeerId, correlationId: string, options: CallOptions): V1CallContext {
    const protocolV1 = this.protocolV1 ?? ''
    return {
      protocol: protocolV1,
      peer,
      openStream: async (signal) => (await this.open(peer, signal, [protocolV1])).stream as Stream,
      pay: async (accepts, nonce) => {
        const requirements = this.approve(accepts, options)
        const { payload, release } = await this.authorize(peer, correlationId, requirements, nonce)
        const exact = payload.payload as unknown as V1EvmPayload
        return { envelope: toV1Envelope(requirements, exact.authorization.from, exact), requirements, release }
      },
      frameTimeoutMs: this.channelOptions.frameTimeoutMs,
      maxResultSize: this.channelOptions.maxBodySize,
      notCharged: (requirements, authorization, release) => {
        if (this.verifier == null) release()
        else this.verifier.releaseWhenFinal(requirements, authorization, release)
      }
    }
  }

  /** Reserves budget and signs an approved requirement with `nonce`; the release undoes the reservation. */
  private async authorize(
    peer: PeerId,
    correlationId: string,
    requirements: PaymentRequirements,
    nonce: Hex,
    resourceInfo?: ResourceInfo
  ): Promise<{ payload: PaymentPayload; release: () => void }> {
    const signer = this.init.signer
    if (signer == null) throw new PaymentNotApprovedError(['this client has no signer'])
    const release = this.budget?.reserve(BigInt(requirements.amount)) ?? (() => {})
    try {
      const payload = await signExactPayment(
        signer,
        requirements,
        nonce,
        resourceInfo != null ? { resource: resourceInfo } : {}
      )
      this.safeDispatchEvent('payment:signed', { detail: { peer, correlationId, requirements } })
      return { payload, release }
    } catch (err) {
      release()
      throw err
    }
  }

  private expectCorrelation(msg: WireMessage, correlationId: string): void {
    if (msg.correlationId !== correlationId)
      throw new ProtocolViolationError('the server answered another correlation id')
  }

  /**
   * Approve, reserve budget, sign, send PAID_REQUEST, and read the outcome — re-asking when the stream breaks. With a
   * journal: the approved terms are written before signing and the signed payment before sending (spec §6.2).
   */
  private async pay(
    seller: { peer: PeerId; dial: Target; address: string },
    first: CallChannel,
    request: { correlationId: string; resource: string; body: Uint8Array; contentType: string },
    accepts: readonly PaymentRequirements[],
    nonce: Hex,
    options: CallOptions,
    signal: AbortSignal,
    resourceInfo?: ResourceInfo
  ): Promise<CallResult> {
    const { peer } = seller
    const requirements = this.approve(accepts, options)
    const journal = this.init.journal
    let entry: CallJournalEntry | undefined
    if (journal != null) {
      const now = Date.now()
      entry = {
        correlationId: request.correlationId,
        peer: peer.toString(),
        addresses: dialAddresses(seller.dial, seller.address),
        resource: request.resource,
        body: toBase64(request.body),
        contentType: request.contentType,
        requirements,
        nonce,
        state: 'prepared',
        ...(options.metadata != null ? { metadata: options.metadata } : {}),
        createdAt: now,
        updatedAt: now
      }
      await journal.put(entry, { signal })
    }
    let authorized: Awaited<ReturnType<typeof this.authorize>>
    try {
      authorized = await this.authorize(peer, request.correlationId, requirements, nonce, resourceInfo)
    } catch (err) {
      // Refused before signing (budget, signer): the call ends here, and nothing was charged.
      if (journal != null && entry != null) {
        await journal
          .put({ ...entry, ...failureEntry(err), updatedAt: Date.now() })
          .catch((cause: unknown) => this.log.error('could not journal %s - %e', request.correlationId, cause))
      }
      throw err
    }
    const { payload, release } = authorized
    if (journal != null && entry != null) {
      try {
        await journal.put({ ...entry, state: 'sent', payment: payload, updatedAt: Date.now() }, { signal })
      } catch (err) {
        release() // nothing was sent
        throw err
      }
    }
    const payment = jsonBytes(payload)
    const paid: WireMessage = {
      type: 'PAID_REQUEST',
      correlationId: request.correlationId,
      request: { ...request, payment }
    }
    const authorization = (payload.payload as { authorization: AuthorizationRef }).authorization
    const signed: SignedPayment = { peer, dial: seller.dial, message: paid, requirements, authorization, release }
    this.pending.set(pendingKey(peer, request.correlationId), signed)
    return this.journaled(signed, this.exchange(signed, first, signal))
  }

  /**
   * Answers a journaled paid call (spec §6.2): its stored result or error, or — while its outcome is unknown — a re-ask
   * with the stored payment.
   */
  private async replay(entry: CallJournalEntry, signal: AbortSignal): Promise<CallResult> {
    if (entry.state === 'done' && entry.result != null) {
      return {
        body: fromBase64(entry.result.body),
        contentType: entry.result.contentType,
        correlationId: entry.correlationId,
        protocol: this.protocol,
        amount: BigInt(entry.requirements?.amount ?? '0'),
        ...(entry.settlement != null ? { settlement: entry.settlement } : {}),
        ...(entry.settlementCheck != null ? { settlementCheck: entry.settlementCheck } : {})
      }
    }
    if (entry.state === 'refunded' || entry.state === 'failed') throw storedError(entry)
    if (entry.payment == null || entry.requirements == null) {
      throw new CallNotFoundError(entry.correlationId, 'the call was never paid')
    }
    const peer = peerIdFromString(entry.peer)
    const key = pendingKey(peer, entry.correlationId)
    let signed = this.pending.get(key)
    if (signed == null) {
      signed = {
        peer,
        dial: entry.addresses.length > 0 ? entry.addresses.map((a) => multiaddr(a)) : peer,
        message: {
          type: 'PAID_REQUEST',
          correlationId: entry.correlationId,
          request: {
            resource: entry.resource,
            body: fromBase64(entry.body),
            contentType: entry.contentType,
            payment: jsonBytes(entry.payment)
          }
        },
        requirements: entry.requirements,
        authorization: (entry.payment.payload as { authorization: AuthorizationRef }).authorization,
        // Budgets live in memory: a payment signed before a restart is no longer counted in this one.
        release: () => {}
      }
      this.pending.set(key, signed)
    }
    return this.journaled(signed, this.exchange(signed, undefined, signal, true))
  }

  async resume(correlationId: string, options: { signal?: AbortSignal } = {}): Promise<CallResult> {
    const journal = this.init.journal
    if (journal == null) throw new CallNotFoundError(correlationId, 'this client has no journal')
    const signal = options.signal ?? AbortSignal.timeout(this.init.callTimeoutMs ?? 180_000)
    const entry = await journal.get(correlationId, { signal })
    if (entry?.payment == null) throw new CallNotFoundError(correlationId)
    return this.replay(entry, signal)
  }

  /**
   * Writes a paid call's outcome to the journal on arrival: the result, the refund, or how it failed. While the signed
   * payment is still kept for a re-ask (the outcome is not known), the entry stays `sent`. A journal write that fails
   * is logged: the caller still gets its result.
   */
  private async journaled(signed: SignedPayment, exchange: Promise<CallResult>): Promise<CallResult> {
    if (this.init.journal == null) return exchange
    const correlationId = signed.message.correlationId
    const update = (change: Partial<CallJournalEntry>): Promise<void> => this.updateJournal(correlationId, change)
    let result: CallResult
    try {
      result = await exchange
    } catch (err) {
      if (!this.pending.has(pendingKey(signed.peer, correlationId))) await update(failureEntry(err))
      throw err
    }
    await update({
      state: 'done',
      result: { body: toBase64(result.body), contentType: result.contentType },
      ...(result.settlement != null ? { settlement: result.settlement } : {}),
      ...(result.settlementCheck != null ? { settlementCheck: result.settlementCheck } : {})
    })
    return result
  }

  /**
   * Sends a signed PAID_REQUEST and reads the outcome, re-sending the very same frame on a new stream when the stream
   * breaks or the settlement is pending (spec §4.4). The pending entry is dropped once the outcome is final.
   */
  private async exchange(
    signed: SignedPayment,
    first: CallChannel | undefined,
    signal: AbortSignal,
    resumed = false
  ): Promise<CallResult> {
    const { peer, message: paid, requirements } = signed
    const correlationId = paid.correlationId
    const amount = BigInt(requirements.amount)
    const attempts = this.init.reaskAttempts ?? 6
    const firstDelay = this.init.reaskDelayMs ?? 500
    let channel: CallChannel | undefined = first
    let lastError: unknown
    let delay = firstDelay
    for (let attempt = 0; attempt <= attempts; attempt++) {
      try {
        if (channel == null) {
          if (attempt > 0) await sleep(delay, signal)
          channel = (await this.open(signed.dial, signal, this.protocols, correlationId)).channel
        }
        await channel.write(paid, { signal })
        const msg = await channel.read({ signal })
        this.expectCorrelation(msg, correlationId)
        if (msg.type === 'ERROR') throw remoteError(msg.error)
        if (msg.type !== 'RESPONSE') throw new ProtocolViolationError(`unexpected ${msg.type} frame after payment`)
        const result = await this.confirm(
          signed,
          await this.finishResponse(channel, msg, correlationId, amount, signal)
        )
        this.pending.delete(pendingKey(peer, correlationId))
        if (result.settlement != null) {
          this.safeDispatchEvent('payment:settled', {
            detail: { peer, correlationId, requirements, settlement: result.settlement }
          })
        }
        return result
      } catch (err) {
        lastError = err
        const failed = channel
        channel?.abort(streamError(err))
        channel = undefined
        if (signal.aborted) break
        // Asking again would bring the same result: the payment is kept for a client with a larger limit to resume.
        if (err instanceof ResultTooLargeError) throw err
        // Back off: a seller restarting, or a chain slow to confirm, is given more time on each re-ask.
        delay = Math.min(firstDelay * 2 ** attempt, MAX_REASK_DELAY_MS)
        if (err instanceof X402Error) {
          const hint = err.details?.retryAfterMs
          const pause = typeof hint === 'number' && Number.isFinite(hint) && hint > 0 ? hint : undefined
          // Re-ask with the same correlation id and the same payment, after the pause the seller suggests — unless it
          // asks for a longer pause than a call should wait (e.g. a throttled payer).
          if (err.details?.reason === 'session_full') failed?.full?.()
          if (REASK.has(err.code)) {
            // Not an outcome: the signed payment is kept (with its budget) for the next call with this correlation id.
            if (pause != null && pause > MAX_REASK_DELAY_MS) throw err
            if (pause != null) delay = pause
            continue
          }
          // The payment may be settling already: keep it (and its budget) so a later call re-asks with it.
          if ((attempt > 0 || resumed) && !FINAL_ON_REASK.has(err.code)) throw err
          if (err.code === ErrorCode.EXECUTION_FAILED) return await this.executionFailed(signed, err, signal)
          return await this.refused(signed, err, signal)
        }
        this.log('paid exchange %s broke (%s); re-asking', correlationId, (err as Error).message)
      }
    }
    throw lastError instanceof X402Error ? lastError : new PaymentInterruptedError(correlationId, { cause: lastError })
  }

  /**
   * A paid RESPONSE, checked on the buyer's chain reader when it has one (spec §6): the settlement becomes the
   * transaction that really made this authorization's transfer; if none did, the result is returned unconfirmed (no
   * settlement) and the budget stays reserved until the chain proves the authorization can no longer move money.
   */
  private async confirm(signed: SignedPayment, result: CallResult): Promise<CallResult> {
    if (this.verifier == null || result.amount === 0n) return { ...result, settlementCheck: 'unchecked' }
    let check: PaymentCheck
    try {
      check = await this.verifier.check(signed.requirements, signed.authorization, result.settlement)
    } catch (err) {
      this.log('could not check the settlement of %s - %e', result.correlationId, err)
      return { ...result, settlementCheck: 'unchecked' }
    }
    if (check.state === 'paid') return { ...result, settlement: check.settlement, settlementCheck: 'verified' }
    const { settlement: _, ...rest } = result
    if (check.final) signed.release()
    else this.verifier.releaseWhenFinal(signed.requirements, signed.authorization, signed.release)
    return { ...rest, settlementCheck: 'unconfirmed' }
  }

  /**
   * A seller's refusal of a payment it was sent (spec §6): the budget is released only when the chain shows nothing
   * moved and nothing still can. When the transfer exists, the seller took the money: {@link PaymentTakenError}, and the
   * signed payment is kept so a later call with the correlation id re-asks for the result.
   */
  private async refused(
    signed: SignedPayment,
    err: X402Error,
    signal: AbortSignal,
    claimsNothingMoved = NOTHING_MOVED.has(err.code)
  ): Promise<never> {
    const key = pendingKey(signed.peer, signed.message.correlationId)
    if (!claimsNothingMoved) {
      this.pending.delete(key)
      throw err
    }
    if (this.verifier == null) {
      this.pending.delete(key)
      signed.release()
      throw err
    }
    let check: PaymentCheck | undefined
    try {
      check = await this.verifier.check(signed.requirements, signed.authorization, undefined, signal)
    } catch (cause) {
      this.log('could not check the refused payment of %s - %e', signed.message.correlationId, cause)
    }
    if (check?.state === 'paid') {
      throw new PaymentTakenError(signed.message.correlationId, check.settlement, { cause: err })
    }
    this.pending.delete(key)
    if (check?.state === 'unpaid' && check.final) signed.release()
    else {
      // The seller may still settle what it refused: then the journal must not keep saying nothing moved.
      const correlationId = signed.message.correlationId
      this.verifier.releaseWhenFinal(signed.requirements, signed.authorization, signed.release, (settlement) => {
        const taken = new PaymentTakenError(correlationId, settlement, { cause: err })
        void this.updateJournal(correlationId, {
          state: 'failed',
          charged: true,
          settlement,
          error: { name: taken.name, message: taken.message }
        })
      })
    }
    throw err
  }

  /**
   * EXECUTION_FAILED after payment (spec §7.5). With `details.refund`: refunded — the budget comes back once the buyer's
   * chain reader finds the transfer back (or at once without a reader). With `details.charged: false`: never settled —
   * handled like any refusal (the chain must agree). Neither (an older seller): paid without result or refund.
   */
  private async executionFailed(signed: SignedPayment, err: X402Error, signal: AbortSignal): Promise<never> {
    const correlationId = signed.message.correlationId
    const key = pendingKey(signed.peer, correlationId)
    const claimed = err.details?.refund as { transaction?: unknown } | undefined
    if (typeof claimed?.transaction === 'string') {
      const transaction = claimed.transaction
      const amount = BigInt(signed.requirements.amount)
      let check: RefundInfo['check'] = 'unchecked'
      const verifier = this.verifier
      if (verifier != null) {
        let result: Awaited<ReturnType<typeof verifier.checkRefund>> | undefined
        try {
          result = await verifier.checkRefund(
            signed.requirements,
            signed.authorization,
            transaction,
            this.refundUsedBy,
            correlationId,
            signal
          )
        } catch (cause) {
          this.log('could not check the refund of %s - %e', correlationId, cause)
        }
        // The authorization never paid: nothing to refund, and nothing charged — as long as the chain agrees.
        if (result === 'not-charged') return this.notCharged(signed, err, signal)
        check = result === 'verified' ? 'verified' : 'unconfirmed'
        if (check === 'unconfirmed') {
          // A refund can reach this reader late: look again for a while before counting the money lost.
          const onVerified = (): void => {
            signed.release()
            void this.updateJournal(correlationId, {
              state: 'refunded',
              charged: false,
              refund: { transaction, amount: amount.toString(), check: 'verified' }
            })
          }
          const { requirements, authorization } = signed
          verifier.recheckRefund(requirements, authorization, transaction, this.refundUsedBy, correlationId, onVerified)
        }
      }
      this.pending.delete(key)
      // Without a chain reader the seller's word stands; with one, only a transfer found on-chain gives the budget back.
      if (check !== 'unconfirmed') signed.release()
      throw new ExecutionFailedError(correlationId, err, true, { transaction, amount, check })
    }
    if (err.details?.charged === false) return this.notCharged(signed, err, signal)
    this.pending.delete(key)
    throw new ExecutionFailedError(correlationId, err, true)
  }

  /** EXECUTION_FAILED for a payment that was never settled: a refusal, the chain deciding whether money moved. */
  private async notCharged(signed: SignedPayment, err: X402Error, signal: AbortSignal): Promise<never> {
    try {
      return await this.refused(signed, err, signal, true)
    } catch (thrown) {
      throw thrown === err ? new ExecutionFailedError(signed.message.correlationId, err, false) : thrown
    }
  }

  /** Which call a refund transaction was already accepted for, per the journal (it survives restarts). */
  private readonly refundUsedBy = async (transaction: string): Promise<string | undefined> =>
    this.init.journal?.refundUsedBy?.(transaction)

  /** Changes a journaled call (e.g. when a later chain check settles its fate); failures are logged. */
  private async updateJournal(correlationId: string, change: Partial<CallJournalEntry>): Promise<void> {
    const journal = this.init.journal
    if (journal == null) return
    try {
      const entry = await journal.get(correlationId)
      if (entry != null) await journal.put({ ...entry, ...change, updatedAt: Date.now() })
    } catch (err) {
      this.log.error('could not journal the outcome of %s - %e', correlationId, err)
    }
  }

  private approve(accepts: readonly PaymentRequirements[], options: CallOptions): PaymentRequirements {
    const asset: PaymentAsset | undefined = options.asset ?? this.init.asset
    const missing: string[] = []
    if (options.maxAmount == null) missing.push('no maxAmount approved for this call')
    if (options.payTo == null) missing.push('no expected payTo for this call')
    if (asset == null) missing.push('no payment asset configured')
    if (options.maxAmount == null || options.payTo == null || asset == null) throw new PaymentNotApprovedError(missing)
    return approve(accepts, {
      maxAmount: options.maxAmount,
      payTo: options.payTo,
      asset,
      maxTimeoutSeconds: this.init.maxTimeoutSeconds ?? DEFAULT_CLIENT_MAX_TIMEOUT_SECONDS
    })
  }

  /** Reads RESPONSE frames until the final one. */
  private async finishResponse(
    channel: CallChannel,
    first: Extract<WireMessage, { type: 'RESPONSE' }>,
    correlationId: string,
    amount: bigint,
    signal: AbortSignal
  ): Promise<CallResult> {
    const max = this.init.maxResultSize ?? 4 * DEFAULT_MAX_BODY_SIZE
    const parts: Uint8Array[] = []
    let size = 0
    let msg: WireMessage = first
    for (;;) {
      if (msg.type === 'ERROR') throw remoteError(msg.error)
      if (msg.type !== 'RESPONSE') throw new ProtocolViolationError(`unexpected ${msg.type} frame in a response`)
      size += msg.response.body.byteLength
      if (size > max) {
        if (amount > 0n) throw new ResultTooLargeError(correlationId, max)
        throw new ProtocolViolationError(`result over ${max} bytes`)
      }
      parts.push(msg.response.body)
      if (msg.response.final) break
      msg = await channel.read({ signal })
      this.expectCorrelation(msg, correlationId)
    }
    const final = msg.response
    await channel.close()
    let settlement: SettleResponse | undefined
    if (final.settlement.byteLength > 0) settlement = parseSettleResponseBytes(final.settlement)
    // A deferred resource answers before settling (spec §7.7): its settlement says so, and follows.
    const deferred = settlement?.success === false && settlement.errorReason === 'settlement_deferred'
    if (amount > 0n && settlement?.success !== true && !deferred)
      throw new ProtocolViolationError('paid response without a successful settlement')
    const body = new Uint8Array(size)
    let offset = 0
    for (const p of parts) {
      body.set(p, offset)
      offset += p.byteLength
    }
    return {
      body,
      contentType: final.contentType,
      correlationId,
      protocol: channel.protocol,
      amount,
      ...(settlement != null ? { settlement } : {}),
      ...(deferred ? { deferred: true } : {})
    }
  }
}

/** An answer saying the seller's session holds as many calls as it takes (spec §2.1). */
function sessionFull(frame: WireMessage): boolean {
  if (frame.type !== 'ERROR' || frame.error.code !== ErrorCode.RATE_LIMITED) return false
  return remoteError(frame.error).details?.reason === 'session_full'
}

/** `channel`, calling `release` (once) when its exchange ends. */
function releasing(channel: CallChannel, release: () => void): CallChannel {
  return {
    protocol: channel.protocol,
    ...(channel.full != null ? { full: () => channel.full?.() } : {}),
    write: (message, options) => channel.write(message, options),
    read: (options) => channel.read(options),
    close: async (options) => {
      try {
        await channel.close(options)
      } finally {
        release()
      }
    },
    abort: (err) => {
      channel.abort(err)
      release()
    }
  }
}

/** The addresses a re-ask dials: the call's own multiaddrs, or the address the seller was reached at. */
function dialAddresses(target: Target, reached: string): string[] {
  if (Array.isArray(target)) return target.map(String)
  return isMultiaddr(target) ? [target.toString()] : [reached]
}

/** The journal fields of a call that ended with `err`. */
function failureEntry(err: unknown): Partial<CallJournalEntry> {
  const error = {
    name: err instanceof Error ? err.name : 'Error',
    ...(err instanceof X402Error ? { code: err.code } : {}),
    message: err instanceof Error ? err.message : String(err)
  }
  if (err instanceof ExecutionFailedError && err.refund != null) {
    const { transaction, amount, check } = err.refund
    const refund = { transaction, amount: amount.toString(), check }
    // A refund the buyer's chain reader did not find is a claim, not money back (it is re-checked for a while).
    if (check === 'unconfirmed') return { state: 'failed', error, charged: true, refund }
    return { state: 'refunded', error, charged: false, refund }
  }
  const charged = err instanceof PaymentTakenError || (err instanceof ExecutionFailedError && err.charged)
  return { state: 'failed', error, charged }
}

/** The error a journaled call ended with, as the client threw it. */
function storedError(entry: CallJournalEntry): Error {
  const error = entry.error ?? { name: 'Error', message: 'the call failed' }
  if (error.code == null) {
    const stored = new Error(error.message)
    stored.name = error.name
    return stored
  }
  const remote = new X402Error(error.code, error.message)
  if (error.code !== ErrorCode.EXECUTION_FAILED) return remote
  const refund = entry.refund != null ? { ...entry.refund, amount: BigInt(entry.refund.amount) } : undefined
  return new ExecutionFailedError(
    entry.correlationId,
    remote,
    entry.state === 'refunded' || entry.charged === true,
    refund
  )
}

/** The peer id a call's target names, when it names one (a `PeerId`, or multiaddrs ending in `/p2p/<id>`). */
function targetPeer(target: Target): string | undefined {
  const addresses = Array.isArray(target) ? target : isMultiaddr(target) ? [target] : undefined
  if (addresses == null) return target.toString()
  const ids = new Set(addresses.map((a) => /\/p2p\/([^/]+)$/.exec(a.toString())?.[1]).filter((id) => id != null))
  return ids.size === 1 ? [...ids][0] : undefined
}

/** Stream and connection failures that mean "the exchange broke", not "the seller answered". */
const CONNECTION_FAULTS = new Set([
  'StreamResetError',
  'StreamAbortedError',
  'StreamStateError',
  'StreamClosedError',
  'ConnectionClosedError',
  'ConnectionClosingError',
  'MuxerClosedError',
  'SessionClosedError'
])

/** Runs the unpaid opening of a call, again up to 3 times (after 100, 300, 900 ms) when the connection breaks. */
async function retryUnpaid<T>(signal: AbortSignal, step: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await step()
    } catch (err) {
      const name = err instanceof Error ? err.name : ''
      if (attempt >= 3 || signal.aborted || !CONNECTION_FAULTS.has(name)) throw err
      await new Promise((resolve) => setTimeout(resolve, 100 * 3 ** attempt))
    }
  }
}
