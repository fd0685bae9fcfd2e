import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { FrameSink } from '../channel.ts'
import { ProtocolViolationError, X402Error } from '../errors.ts'
import { isFinalFrame, SessionStream } from '../session-stream.ts'
import { streamError } from '../stream-error.ts'
import type { WireMessage } from '../wire.ts'
import { sendError } from './respond.ts'
import type { X402ServerImpl } from './server.ts'

/** Bounds of the sessions a server serves (spec §2.1). */
export interface SessionLimits {
  /** Exchanges in progress on one session; a request beyond it is answered RATE_LIMITED. */
  maxExchanges: number
  /** A session with nothing in progress and no frame for this long is closed (ms). */
  idleTimeoutMs: number
}

/** Challenged correlation ids remembered per session (a peer's unpaid challenges are bounded anyway: 64). */
const MAX_CHALLENGED = 256

/** How long a closed session waits for the buyer to close its side before the stream is reset. */
const CLOSE_GRACE_MS = 5_000

type Opening = Extract<WireMessage, { type: 'REQUEST' | 'PAID_REQUEST' }>

/**
 * One `/x402/libp2p/2.1.0` session of a buyer (spec §2.1): a long-lived stream carrying many exchanges, interleaved
 * and told apart by correlation id. Every `REQUEST` or `PAID_REQUEST` opens an exchange of its own and is answered
 * exactly as on a stream of its own (spec §4, §5) — a `PAID_REQUEST` answering a challenge is a new exchange with the
 * challenge's correlation id, as on a new stream. Frames are read as they come, so a slow call never holds up the
 * others; the answers of exchanges finishing together leave in one write.
 *
 * A frame that cannot open an exchange (another type, a correlation id whose exchange is still in progress here, an
 * oversized or malformed frame) is answered INVALID_MESSAGE and ends the session: nothing more is read, the exchanges
 * in progress still answer, then the stream is closed. Beyond `maxExchanges` in progress a request is answered
 * RATE_LIMITED and nothing else is done for it. A session idle for `idleTimeoutMs` is closed.
 */
export class ServerSession {
  private readonly server: X402ServerImpl
  private readonly stream: Stream
  private readonly peer: PeerId
  private readonly limits: SessionLimits
  private readonly frames: SessionStream
  /** Exchanges that have not sent their last frame, by correlation id (the token tells two of one id apart). */
  private readonly open = new Map<string, symbol>()
  private running = 0
  /**
   * Correlation ids challenged on this session whose PAID_REQUEST has not come: that payment continues the exchange
   * the challenge's REQUEST opened, and is not counted against the rate limit again (as on a stream of its own).
   */
  private readonly challenged = new Set<string>()
  private readonly idle = new AbortController()
  private idleTimer: ReturnType<typeof setTimeout> | undefined
  private settled: (() => void) | undefined

  constructor(server: X402ServerImpl, stream: Stream, connection: Connection, limits: SessionLimits) {
    this.server = server
    this.stream = stream
    this.peer = connection.remotePeer
    this.limits = limits
    this.frames = new SessionStream(stream, server.config)
  }

  /** Serves the session until the buyer closes it, it idles out, or it is cut. */
  async run(): Promise<void> {
    this.armIdle()
    let last: WireMessage | undefined
    try {
      for (;;) {
        last = undefined
        const msg = await this.frames.read({ signal: this.idle.signal })
        if (msg == null) break // the buyer closed its side: answer what is in progress, then close ours
        last = msg
        if (msg.type !== 'REQUEST' && msg.type !== 'PAID_REQUEST') {
          throw new ProtocolViolationError(`a ${msg.type} frame cannot open an exchange`)
        }
        if (this.open.has(msg.correlationId)) {
          throw new ProtocolViolationError('an exchange with this correlation id is in progress on this session')
        }
        if (this.running >= this.limits.maxExchanges) {
          const err = X402Error.of('RATE_LIMITED', 'too many calls in progress on this session', {
            reason: 'session_full',
            retryAfterMs: 1_000
          })
          void sendError(this.frames, msg.correlationId, err).catch(() => {})
          continue
        }
        this.start(msg)
      }
    } catch (err) {
      if (err instanceof ProtocolViolationError) {
        this.server.log('protocol violation on session %s - %s', this.stream.id, err.message)
        const answer = X402Error.of('INVALID_MESSAGE', err.message)
        await sendError(this.frames, last?.correlationId ?? 'unknown', answer).catch(() => {})
      } else if (!this.idle.signal.aborted) {
        // Reset by the buyer, or the connection went away: the exchanges in progress find out when they answer.
        this.server.log('session %s ended - %s', this.stream.id, (err as Error).message)
      }
    } finally {
      clearTimeout(this.idleTimer)
    }
    // Nothing more is read: the exchanges in progress still answer, then our side closes.
    if (this.running > 0) await new Promise<void>((resolve) => (this.settled = resolve))
    await this.close()
  }

  private start(msg: Opening): void {
    const id = msg.correlationId
    const token = Symbol(id)
    this.open.set(id, token)
    this.running++
    clearTimeout(this.idleTimer)
    // Its last frame ends the exchange for the buyer: from then on the correlation id may open another one here.
    const sink: FrameSink = {
      write: (message, options) => {
        if (isFinalFrame(message) && this.open.get(id) === token) this.open.delete(id)
        if (message.type === 'PAYMENT_REQUIRED') {
          this.challenged.add(id)
          if (this.challenged.size > MAX_CHALLENGED)
            this.challenged.delete(this.challenged.values().next().value as string)
        }
        return this.frames.write(message, options)
      }
    }
    void this.exchange(sink, msg).finally(() => {
      if (this.open.get(id) === token) this.open.delete(id)
      this.running--
      if (this.running === 0) {
        this.armIdle()
        this.settled?.()
      }
    })
  }

  private async exchange(sink: FrameSink, msg: Opening): Promise<void> {
    try {
      if (!(msg.type === 'PAID_REQUEST' && this.challenged.delete(msg.correlationId))) this.server.rateLimit(this.peer)
      if (msg.type === 'REQUEST') await this.server.answerRequest(sink, this.peer, msg)
      else await this.server.answerPaid(sink, this.peer, msg)
    } catch (err) {
      let answer: X402Error
      if (err instanceof X402Error) answer = err
      else if (err instanceof ProtocolViolationError) answer = X402Error.of('INVALID_MESSAGE', err.message)
      else {
        if (this.server.stopSignal.aborted) return
        // On a stream of its own the stream would be reset; here the other exchanges go on. Retryable: a paid call's
        // buyer re-asks with the same payment and gets the stored outcome.
        this.server.log.error('x402 exchange %s failed - %e', msg.correlationId, err)
        answer = X402Error.of('SERVICE_UNAVAILABLE', 'the call could not be processed now; retry', {
          retryAfterMs: 1_000
        })
      }
      await sendError(sink, msg.correlationId, answer).catch(() => {})
    }
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer)
    this.idleTimer = setTimeout(() => {
      if (this.running === 0) this.idle.abort(new Error('session idle'))
    }, this.limits.idleTimeoutMs)
  }

  /** Closes our side once what was written is sent, and resets the stream if the buyer does not close its own. */
  private async close(): Promise<void> {
    try {
      await this.stream.close({ signal: AbortSignal.timeout(CLOSE_GRACE_MS) })
    } catch (err) {
      this.stream.abort(streamError(err))
      return
    }
    if (this.stream.status === 'closed') return
    const timer = setTimeout(() => this.stream.abort(new Error('session closed')), CLOSE_GRACE_MS)
    this.stream.addEventListener('close', () => clearTimeout(timer), { once: true })
  }
}
