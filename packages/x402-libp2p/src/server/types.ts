import type { ComponentLogger, PeerId, Startable, TypedEventTarget } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import type { PaymentRequirements, SettleResponse } from '@x402/core/types'
import type { Datastore } from 'interface-datastore'
import type { Address, Hex } from 'viem'
import type { ErrorCodeName } from '../errors.ts'
import type { PaymentAsset, Price } from '../requirements.ts'
import type { Settler } from '../settlement/settler.ts'
import type { SettlementOrder } from '../store/records.ts'

/** What a resource handler receives. */
export interface X402Request {
  resource: string
  body: Uint8Array
  contentType: string
  /** The calling peer. */
  peer: PeerId
  correlationId: string
}

/** Context of one handler invocation. */
export interface X402HandlerContext {
  /** Aborted on the time limit or when the node stops. */
  signal: AbortSignal
  /** Present for paid calls: the confirmed settlement. */
  settlement?: SettleResponse
  /** The payer's address for paid calls. */
  payer?: Address
}

/** A resource implementation: bytes in, bytes (or a stream of chunks) out. */
export type X402Handler = (
  request: X402Request,
  context: X402HandlerContext
) => Promise<Uint8Array | AsyncIterable<Uint8Array>> | Uint8Array | AsyncIterable<Uint8Array>

/** A resource offered by the server. */
export interface X402Resource {
  /** `null` for a free resource. */
  price: Price | null
  handler: X402Handler
  /** Shown in PaymentRequired.resource. */
  description?: string
  mimeType?: string
  /** Per-resource body limit. @default the server's `maxBodySize` */
  maxBodySize?: number
  /** Handler time limit. @default the server's `executionTimeoutMs` */
  executionTimeoutMs?: number
  /**
   * When the payment settles (spec §7.5). `'before'`: settle, then run the handler; if the handler fails (throws, times
   * out, exceeds the result limit) the payment is refunded on-chain by the settler's refunder and the buyer gets
   * EXECUTION_FAILED naming the refund transaction. `'after'` (x402's HTTP order): verify and reserve, run the handler,
   * settle only its success — a failed handler costs the buyer nothing, while the seller runs the handler before it is
   * paid (its exposure bounded by `maxPendingCallsPerPayer` and the settler's per-payer checks).
   * `'before'` needs a settler with a `refunder` (`localSettler` has one; give `facilitatorSettler` a `walletRefunder`):
   * `register` throws {@link InvalidResourceError} otherwise.
   * `'deferred'` (micro-payments, spec §7.7): the authorization is checked locally (signature, payer balance), its
   * amount is reserved against the payer's credit (`deferredCreditLimit`), the handler runs and the buyer gets its
   * result at once — the payment settles in the next batch. A handler still running `minSettleWindowSeconds` before
   * the authorization's `validBefore` has its call settled first instead (answered once paid, refunded if it then
   * fails). A payer that made its deferred settlement fail (cancelled it, moved its balance away, …) is refused
   * deferred calls until {@link X402Server.clearDefault} — an authorization that merely expired is not held against it;
   * the seller's exposure to a payer is bounded by its credit limit. Needs `localSettler` (batching on is what makes
   * it cheap).
   * @default 'before'
   */
  settlement?: SettlementOrder
  /**
   * Deterministic checks of a request before any payment (spec §5 step 4): run on the first REQUEST (before a
   * challenge is issued, so nothing is signed) and on every PAID_REQUEST before verification and reservation. Throw
   * {@link InvalidRequestError} to refuse with INVALID_REQUEST and its message; any other error refuses with a generic
   * message (its text stays in the local log). Must be cheap: it is bounded by `validateTimeoutMs`.
   */
  validate?: (request: X402Request, options: { signal: AbortSignal }) => void | Promise<void>
  /**
   * Issue challenges (two-trip flow). `false` makes the resource stateless: a plain REQUEST gets PAYMENT_REQUIRED
   * (code 2000) with the requirements in `details`, and buyers pay up front with their own nonce. @default true
   */
  challenge?: boolean
}

export interface X402ServerInit {
  /** Verifies and settles payments: `localSettler(…)` or `facilitatorSettler(…)`. Required for paid resources. */
  settler?: Settler
  /** Token and network prices are quoted in (USDC with its EIP-712 domain). Required for paid resources. */
  asset?: PaymentAsset
  /** Default payee. @default the settler's wallet */
  payTo?: Address
  /** Prepended to the protocol ids. @default '' */
  protocolPrefix?: string
  /** Also serve `/x402/libp2p/1.0.0` (Go prototype compatibility). @default true */
  v1?: boolean
  /** @default 1 MiB */
  maxBodySize?: number
  /** Largest stored/sent result of a paid call. @default 4 MiB */
  maxResultSize?: number
  /** @default 10000 */
  frameTimeoutMs?: number
  /** @default 120 */
  challengeTtlSeconds?: number
  /** @default 30 */
  clockSkewSeconds?: number
  /** @default 10 */
  minSettleWindowSeconds?: number
  /** @default 60000 */
  executionTimeoutMs?: number
  /** How long paid results and used nonces are kept. @default 24 h */
  recordTtlMs?: number
  /** How long a challenge is kept after it expired (ms). @default 300000 (5 min) */
  challengeRetentionMs?: number
  /** Unpaid challenges one peer may hold per challenge lifetime. @default 64 */
  maxChallengesPerPeer?: number
  /** Challenges stored at once across all peers; beyond it the oldest is evicted (spec §7.4). @default 10000 */
  maxStoredChallenges?: number
  /**
   * Paid calls not yet terminal across all peers; beyond it new payments are refused with the retryable
   * SERVICE_UNAVAILABLE before anything is reserved (spec §7.4). @default 4096
   */
  maxPendingCalls?: number
  /** Paid calls not yet terminal per payer (refused with SERVICE_UNAVAILABLE beyond it). @default 32 */
  maxPendingCallsPerPayer?: number
  /**
   * `settlement: 'deferred'` resources: the most one payer may owe in deferred calls whose settlement is not confirmed,
   * in atomic units of the asset — the seller's exposure to one payer (spec §7.7). A call that would go over it is
   * refused with the retryable RATE_LIMITED until earlier ones settle. @default 50000n (5 cents of USDC)
   */
  deferredCreditLimit?: bigint
  /**
   * Paid calls of one payer whose handler failed (refunded, or run unpaid with `settlement: 'after'`) within
   * `failedCallsWindowSeconds`; beyond it the payer's new payments are refused with RATE_LIMITED (spec §10.2).
   * @default 8
   */
  maxFailedCallsPerPayer?: number
  /** @default 600 */
  failedCallsWindowSeconds?: number
  /** How long a paid call waits for its transfer to confirm before answering SETTLEMENT_PENDING (ms). @default 30000 */
  confirmationTimeoutMs?: number
  /** First delay of the background resolver for a pending settlement; it doubles up to 15 s (ms). @default 1000 */
  resolveIntervalMs?: number
  /** Longest a resource's `validate` may run (ms). @default 2000 */
  validateTimeoutMs?: number
  /** Requests per peer per second. @default 1000 */
  rateLimitPerSecond?: number
  /** @default 64 */
  maxInboundStreams?: number
  /**
   * Also serve `/x402/libp2p/2.1.0` sessions (spec §2.1): a buyer's calls share one long-lived stream. `maxExchanges`:
   * exchanges in progress on one session (more are answered RATE_LIMITED); `idleTimeoutMs`: a session with nothing in
   * progress and no frame for this long is closed; `maxPerConnection`: sessions one connection may hold.
   * @default true (maxExchanges 64, idleTimeoutMs 30000, maxPerConnection 8)
   */
  sessions?: boolean | { maxExchanges?: number; idleTimeoutMs?: number; maxPerConnection?: number }
}

export interface X402ServerComponents {
  registrar: Registrar
  /** Where challenges, used nonces and paid results live (LevelDB in a full node). */
  datastore: Datastore
  logger: ComponentLogger
  peerId: PeerId
}

/** Detail of payment events. */
export interface PaymentEventDetail {
  peer: PeerId
  correlationId: string
  resource: string
  requirements: PaymentRequirements
  payer: Address
  settlement?: SettleResponse
  /** The settlement transaction just signed and about to be broadcast (`payment:submitted`), or the refund's. */
  transaction?: Hex
  error?: { codeName: ErrorCodeName | 'UNKNOWN'; message: string }
}

export interface X402ServerEvents {
  /** A payment passed every check and was reserved (before settlement). */
  'payment:verified': CustomEvent<PaymentEventDetail>
  /** A settlement transaction was signed and persisted, and is being broadcast (`detail.transaction`). */
  'payment:submitted': CustomEvent<PaymentEventDetail>
  /** The transfer is confirmed on-chain. */
  'payment:settled': CustomEvent<PaymentEventDetail>
  /** A payment was rejected, or its settlement was proven void (nothing moved). */
  'payment:failed': CustomEvent<PaymentEventDetail>
  /**
   * A handler failed after settlement and the payment went back to the payer (`detail.transaction`: the refund,
   * `detail.settlement`: the settlement it refunds).
   */
  'payment:refunded': CustomEvent<PaymentEventDetail>
  /** A paid call's result was stored and sent. */
  'call:completed': CustomEvent<PaymentEventDetail>
}

/** The seller side of x402 over libp2p. */
export interface X402Server extends TypedEventTarget<X402ServerEvents>, Startable {
  /** Offers a resource. A name can be registered once; `unregister` first to change it. */
  register(name: string, resource: X402Resource): void
  unregister(name: string): void
  /** The x402 requirements a paid resource currently asks for (what a listing advertises), or `[]` when free. */
  requirements(name: string): PaymentRequirements[]
  /** Names of the registered resources. */
  resources(): string[]
  /** Removes expired challenges, nonces and records now (also runs periodically). */
  gc(): Promise<number>
  /** What the server holds right now: paid calls not yet terminal, and stored challenges. */
  stats(): X402ServerStats
  /**
   * Forgives a payer in default (it made a deferred settlement of theirs fail, spec §7.7): its deferred calls are
   * accepted again. Settles the failures that caused the default — a call that failed before the clear never puts the
   * payer back in default, only a new failure does. Resolves `false` when it was not in default.
   */
  clearDefault(payer: Address): Promise<boolean>
}

/** Counters of {@link X402Server.stats}. */
export interface X402ServerStats {
  /** Paid calls reserved but not terminal (settling, or settled with the handler running). */
  pendingCalls: number
  /** Challenges stored (answered or not), across all peers. */
  storedChallenges: number
}
