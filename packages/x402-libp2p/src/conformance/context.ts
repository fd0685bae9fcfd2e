import type { Libp2p } from '@libp2p/interface'
import type { LocalAccount, PublicClient } from 'viem'
import {
  DEFAULT_FRAME_TIMEOUT_MS,
  DEFAULT_MAX_BODY_SIZE,
  FRAME_OVERHEAD,
  X402_PROTOCOL,
  X402_SESSION_PROTOCOL
} from '../constants.ts'
import { CaseSkipped } from './errors.ts'
import { RawExchange } from './exchange.ts'
import type { ConformanceFaults, ConformanceOptions, ConformanceTarget } from './types.ts'

/** Server limits the suite probes, with the spec's defaults filled in. */
export interface ProbedLimits {
  /** Largest frame the server reads (spec §2: 1 MiB + 64 KiB). */
  maxMessageSize: number
  /** Time the server waits for each frame (spec §2: 10 s). */
  frameTimeoutMs: number
}

const utf8 = new TextEncoder()

/**
 * Everything one case needs: the target, the accounts, and raw streams to it. Streams a case opens are reset when
 * the case ends, so a failing case never leaks one into the next.
 */
export class CaseContext {
  readonly target: ConformanceTarget
  readonly node: Libp2p
  readonly payer: LocalAccount
  readonly poorPayer: LocalAccount | undefined
  readonly publicClient: PublicClient | undefined
  readonly faults: ConformanceFaults
  readonly protocol: string
  /** The session protocol (spec §2.1) to dial. */
  readonly sessionProtocol: string
  readonly limits: ProbedLimits
  /** Aborted when the case times out or the run is aborted. */
  readonly signal: AbortSignal
  private readonly exchanges: RawExchange[] = []

  constructor(target: ConformanceTarget, options: ConformanceOptions, signal: AbortSignal) {
    this.target = target
    this.node = options.node
    this.payer = options.payer
    this.poorPayer = options.poorPayer
    this.publicClient = options.publicClient
    this.faults = options.faults ?? {}
    this.protocol = target.protocol ?? X402_PROTOCOL
    this.sessionProtocol = target.sessionProtocol ?? X402_SESSION_PROTOCOL
    this.limits = {
      maxMessageSize: target.limits?.maxMessageSize ?? DEFAULT_MAX_BODY_SIZE + FRAME_OVERHEAD,
      frameTimeoutMs: target.limits?.frameTimeoutMs ?? DEFAULT_FRAME_TIMEOUT_MS
    }
    this.signal = signal
  }

  /** Opens a new stream to the target (reusing the connection) with `node.dialProtocol`. */
  async open(): Promise<RawExchange> {
    return this.dial(this.protocol)
  }

  /** Opens a session stream (spec §2.1); skips the case when the target serves no sessions (they are optional). */
  async openSession(): Promise<RawExchange> {
    try {
      return await this.dial(this.sessionProtocol)
    } catch (err) {
      if ((err as Error).name === 'UnsupportedProtocolError')
        this.skip(`the target does not serve ${this.sessionProtocol}`)
      throw err
    }
  }

  private async dial(protocol: string): Promise<RawExchange> {
    // A signal per stream: libp2p leaves listeners on it until the stream's negotiation finishes, and one shared
    // signal across many streams would pile them up.
    const signal = AbortSignal.any([this.signal])
    const stream = await this.node.dialProtocol(this.target.peer, protocol, { signal })
    const connection = this.node.getConnections().find((c) => c.streams.includes(stream))
    const exchange = new RawExchange(stream, signal, connection?.remotePeer)
    this.exchanges.push(exchange)
    return exchange
  }

  /** A fresh correlation id (UUID v4, as the spec recommends). */
  correlationId(): string {
    return crypto.randomUUID()
  }

  /** A request body unique to this call. */
  body(correlationId: string): Uint8Array {
    return utf8.encode(`x402 conformance ${correlationId}`)
  }

  /** Ends the case as skipped. */
  skip(reason: string): never {
    throw new CaseSkipped(reason)
  }

  /** Resets every stream the case opened. */
  dispose(): void {
    for (const exchange of this.exchanges.splice(0)) {
      if (exchange.stream.status === 'open') exchange.abort()
    }
  }
}
