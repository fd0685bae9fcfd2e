import type { AbortOptions, Connection, Logger, Stream } from '@libp2p/interface'
import { ProtocolViolationError, SessionClosedError } from '../errors.ts'
import { isFinalFrame, SessionStream } from '../session-stream.ts'
import { streamError } from '../stream-error.ts'
import type { WireMessage } from '../wire.ts'

/** A channel for one exchange: a stream of its own, or one exchange of a session. */
export interface CallChannel {
  /** The protocol carrying it. */
  readonly protocol: string
  /**
   * The seller refused this exchange because its session holds as many as it takes (`RATE_LIMITED`, `reason:
   * session_full`): the session takes fewer from now on. Only on a session's exchanges.
   */
  full?(): void
  write(message: WireMessage, options?: AbortOptions): Promise<void>
  read(options?: AbortOptions): Promise<WireMessage>
  /** The exchange is over (its last frame was read). */
  close(options?: AbortOptions): Promise<void>
  /** The exchange is abandoned (its outcome may still be on its way). */
  abort(err: Error): void
}

/** Options for a {@link SessionPool}. */
export interface SessionPoolInit {
  /** `/x402/libp2p/2.1.0` (with the prefix). */
  protocol: string
  /** Offered after it in the same negotiation: what a peer without sessions speaks (2.0.0, 1.0.0). */
  fallback: string[]
  maxBodySize: number
  /** Time allowed for each frame of an exchange. */
  frameTimeoutMs: number
  /** A session with no exchange for this long is closed (ms). */
  idleTimeoutMs: number
  /** Exchanges on one session at once; more open another session. */
  maxExchanges: number
  maxOutboundStreams: number
  log: Logger
}

/** Frames for correlation ids this session knows nothing of, after which the seller is taken as hostile. */
const MAX_UNKNOWN_FRAMES = 64
/** Exchanges abandoned with their outcome still owed, after which the session takes no more exchanges. */
const MAX_ABANDONED = 64

/**
 * The buyer's `/x402/libp2p/2.1.0` sessions (spec §2.1): one long-lived stream per connection to a seller, carrying
 * every call to it as an exchange told apart by correlation id — no new stream, multistream-select round trip or peer
 * store write per call. A seller without sessions answers the negotiation with 2.0.0 (or 1.0.0) on the same stream,
 * which serves the call that asked; the connection is then remembered as one without sessions.
 */
export class SessionPool {
  private readonly init: SessionPoolInit
  private readonly sessions = new Map<string, ClientSession[]>()
  private readonly opening = new Map<string, Promise<ClientSession | undefined>>()
  private readonly unsupported = new WeakSet<Connection>()

  constructor(init: SessionPoolInit) {
    this.init = init
  }

  /**
   * A channel for the exchange `correlationId` on a session over `connection`: `{ channel }`, or `{ stream }` — a
   * stream of its own that the seller negotiated instead (it has no sessions) — or `undefined` when the connection
   * is known to have no sessions.
   */
  async open(
    connection: Connection,
    correlationId: string,
    signal: AbortSignal
  ): Promise<{ channel: CallChannel } | { stream: Stream } | undefined> {
    for (;;) {
      if (this.unsupported.has(connection)) return undefined
      const live = this.sessions.get(connection.id)?.find((s) => s.accepts(correlationId))
      if (live != null) return { channel: live.exchange(correlationId) }
      const pending = this.opening.get(connection.id)
      if (pending == null) return this.create(connection, correlationId, signal)
      // Someone is opening one: use it — or, if it failed or cannot take this id, open another.
      const opened = await pending.catch(() => undefined)
      signal.throwIfAborted()
      if (opened != null && !opened.accepts(correlationId)) return this.create(connection, correlationId, signal)
    }
  }

  /** Closes every session (the client stops). */
  closeAll(): void {
    for (const list of this.sessions.values()) for (const s of list) s.retire()
  }

  private async create(
    connection: Connection,
    correlationId: string,
    signal: AbortSignal
  ): Promise<{ channel: CallChannel } | { stream: Stream } | undefined> {
    const { protocol, fallback, maxOutboundStreams } = this.init
    let negotiated: Stream | undefined
    const opening = (async (): Promise<ClientSession | undefined> => {
      const stream = await connection.newStream([protocol, ...fallback], { signal, maxOutboundStreams })
      if (stream.protocol !== protocol) {
        this.unsupported.add(connection)
        negotiated = stream
        return undefined
      }
      const session = new ClientSession(stream, this.init, () => this.forget(connection.id, session))
      const list = this.sessions.get(connection.id) ?? []
      list.push(session)
      this.sessions.set(connection.id, list)
      return session
    })().finally(() => {
      if (this.opening.get(connection.id) === opening) this.opening.delete(connection.id)
    })
    this.opening.set(connection.id, opening)
    const session = await opening
    if (session == null) return negotiated != null ? { stream: negotiated } : undefined
    return { channel: session.exchange(correlationId) }
  }

  private forget(connectionId: string, session: ClientSession): void {
    const list = this.sessions.get(connectionId)?.filter((s) => s !== session) ?? []
    if (list.length > 0) this.sessions.set(connectionId, list)
    else this.sessions.delete(connectionId)
  }
}

/** One exchange of a session, seen from the call that runs it. */
interface Exchange {
  /** Frames that arrived for it, not yet read. */
  queue: WireMessage[]
  /** The read waiting for the next frame. */
  wake: (() => void) | undefined
  /** Requests written whose last answer has not arrived. */
  owed: number
  done: boolean
}

/** A buyer's session stream: routes the seller's frames to the exchanges by correlation id. */
class ClientSession {
  private readonly stream: Stream
  private readonly frames: SessionStream
  private readonly init: SessionPoolInit
  private readonly onEnd: () => void
  private readonly exchanges = new Map<string, Exchange>()
  /** Exchanges abandoned before their last frame: how many last frames each still owes (dropped as they come). */
  private readonly abandoned = new Map<string, number>()
  private unknown = 0
  /** Exchanges this session takes at once: ours, or fewer once the seller said its session was full. */
  private limit: number
  private ended: Error | undefined
  private retired = false
  private closing = false
  private idleTimer: ReturnType<typeof setTimeout> | undefined

  constructor(stream: Stream, init: SessionPoolInit, onEnd: () => void) {
    this.stream = stream
    this.init = init
    this.onEnd = onEnd
    this.limit = init.maxExchanges
    this.frames = new SessionStream(stream, init)
    stream.addEventListener(
      'close',
      (evt) => this.end(new SessionClosedError('the session closed', { cause: evt.error })),
      {
        once: true
      }
    )
    void this.readLoop()
    this.armIdle()
  }

  /** Whether an exchange `correlationId` can start here now. */
  accepts(correlationId: string): boolean {
    return (
      this.ended == null &&
      !this.retired &&
      this.exchanges.size < this.limit &&
      !this.exchanges.has(correlationId) &&
      !this.abandoned.has(correlationId)
    )
  }

  exchange(correlationId: string): CallChannel {
    const state: Exchange = { queue: [], wake: undefined, owed: 0, done: false }
    this.exchanges.set(correlationId, state)
    clearTimeout(this.idleTimer)
    const finish = (): void => {
      if (state.done) return
      state.done = true
      if (this.exchanges.get(correlationId) === state) this.exchanges.delete(correlationId)
      // Its outcome may still come: those frames are dropped, and the id goes on another session meanwhile.
      if (state.owed > 0 && this.ended == null) {
        this.abandoned.set(correlationId, (this.abandoned.get(correlationId) ?? 0) + state.owed)
        if (this.abandoned.size > MAX_ABANDONED) this.retire()
      }
      state.wake?.()
      if (this.exchanges.size > 0) return
      if (this.retired) this.close()
      else this.armIdle()
    }
    return {
      protocol: this.init.protocol,
      full: () => {
        // It held this many, this one included, when the seller refused it.
        this.limit = Math.max(1, Math.min(this.limit, this.exchanges.size - 1))
      },
      write: async (message, options) => {
        if (this.ended != null) throw this.ended
        if (state.done) throw new SessionClosedError('the exchange is over')
        if (message.correlationId !== correlationId) throw new RangeError('a frame of another exchange')
        if (message.type === 'REQUEST' || message.type === 'PAID_REQUEST') state.owed++
        await this.frames.write(message, options)
      },
      read: (options) => this.read(state, options),
      close: async () => finish(),
      abort: () => finish()
    }
  }

  /** Takes no more exchanges; closes once the running ones are over. */
  retire(): void {
    this.retired = true
    if (this.exchanges.size === 0) this.close()
  }

  private async read(state: Exchange, options: AbortOptions = {}): Promise<WireMessage> {
    const timeout = AbortSignal.timeout(this.init.frameTimeoutMs)
    const signal = options.signal != null ? AbortSignal.any([timeout, options.signal]) : timeout
    for (;;) {
      const next = state.queue.shift()
      if (next != null) return next
      if (this.ended != null) throw this.ended
      if (state.done) throw new SessionClosedError('the exchange is over')
      if (signal.aborted) {
        if (timeout.aborted) throw new ProtocolViolationError(`no frame within ${this.init.frameTimeoutMs} ms`)
        throw signal.reason
      }
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          state.wake = undefined
          signal.removeEventListener('abort', wake)
          resolve()
        }
        state.wake = wake
        signal.addEventListener('abort', wake, { once: true })
      })
    }
  }

  private async readLoop(): Promise<void> {
    try {
      for (;;) {
        const msg = await this.frames.read()
        if (msg == null) break
        this.route(msg)
      }
      this.end(new SessionClosedError('the seller closed the session'))
    } catch (err) {
      // A malformed frame: nothing after it can be trusted to be framed right.
      const error = streamError(err)
      this.end(error)
      if (err instanceof ProtocolViolationError) this.stream.abort(error)
    }
  }

  private route(msg: WireMessage): void {
    const id = msg.correlationId
    const state = this.exchanges.get(id)
    if (state != null) {
      if (isFinalFrame(msg) && state.owed > 0) state.owed--
      state.queue.push(msg)
      state.wake?.()
      return
    }
    const owed = this.abandoned.get(id)
    if (owed != null) {
      if (!isFinalFrame(msg)) return
      if (owed > 1) this.abandoned.set(id, owed - 1)
      else {
        this.abandoned.delete(id)
        if (this.retired && this.exchanges.size === 0) this.close()
      }
      return
    }
    // Nothing asked for it: a confused or hostile seller. A few are ignored; a stream of them ends the session.
    this.init.log('session %s: a %s frame for unknown correlation id %s', this.stream.id, msg.type, id)
    if (++this.unknown > MAX_UNKNOWN_FRAMES) {
      const err = new ProtocolViolationError('the seller keeps sending frames for calls nobody made')
      this.end(err)
      this.stream.abort(err)
    }
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer)
    this.idleTimer = setTimeout(() => {
      if (this.exchanges.size === 0) this.close()
    }, this.init.idleTimeoutMs)
    this.idleTimer.unref?.()
  }

  /** Closes our side; the session ends when the seller closes its own (or at once if it can no longer be written). */
  private close(): void {
    if (this.closing) return
    this.closing = true
    this.retired = true
    this.onEnd()
    this.stream.close().catch((err: unknown) => this.stream.abort(streamError(err)))
  }

  private end(err: Error): void {
    if (this.ended != null) return
    this.ended = err
    clearTimeout(this.idleTimer)
    this.onEnd()
    for (const state of this.exchanges.values()) state.wake?.()
  }
}
