import type { AbortOptions, ComponentLogger, PeerId, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { PaymentRequirements, SettleResponse } from '@x402/core/types'
import type { Address, PublicClient } from 'viem'
import type { PaymentAsset } from '../requirements.ts'
import type { BudgetInit } from './budget.ts'
import type { CallJournal } from './journal.ts'
import type { PaymentSigner } from './sign.ts'

export interface X402ClientInit {
  /** Signs EIP-3009 authorizations: any viem `LocalAccount` (or an object with `address` and `signTypedData`). */
  signer?: PaymentSigner
  /** The token and network this client pays with; offers in anything else are refused. */
  asset?: PaymentAsset
  /** Client-wide spending cap. Unlimited when absent (each call still needs `maxAmount`). */
  budget?: BudgetInit
  /** Longest authorization the client signs. @default 300 */
  maxTimeoutSeconds?: number
  /** Prepended to the protocol ids. @default '' */
  protocolPrefix?: string
  /**
   * Versions to offer, in order of preference, negotiated by multistream-select: `2.0.0` (protobuf) and `1.0.0`
   * (Betar Go nodes). @default ['2.0.0', '1.0.0']
   */
  versions?: Array<'2.0.0' | '1.0.0'>
  /**
   * Sessions (spec §2.1): calls to a seller that serves `/x402/libp2p/2.1.0` share one long-lived stream per
   * connection — no new stream and multistream-select round trip per call. A seller without sessions is asked in the
   * same negotiation and answers with 2.0.0 (or 1.0.0). `idleTimeoutMs`: a session with no call for this long is closed.
   * `false`: a stream per call. @default true (idleTimeoutMs 10000)
   */
  sessions?: boolean | { idleTimeoutMs?: number }
  /** The connection's limit on outbound x402 streams (js-libp2p `maxOutboundStreams`). @default 64 */
  maxOutboundStreams?: number
  /**
   * Calls in flight to one peer at a time; more wait for one to finish instead of failing on the connection's stream
   * limit or the seller's per-payer bound. @default 16
   */
  maxConcurrentCallsPerPeer?: number
  /** Largest result accepted. @default 4 MiB */
  maxResultSize?: number
  /** Time allowed for each inbound frame. Paid calls include settlement and execution, so allow for both. @default 90000 */
  frameTimeoutMs?: number
  /** Whole-call limit when the caller passes no signal. @default 180000 */
  callTimeoutMs?: number
  /**
   * Reads the chain the client pays on (spec §6). With it, a paid result counts as paid only when this reader finds the
   * payment's transfer to the payee (the settlement returned is the transaction that made it, whatever the seller
   * said), and a seller's refusal releases the budget only when nothing moved and nothing still can. Strongly
   * recommended: without it the client takes the seller's word.
   */
  publicClient?: PublicClient
  /** How long to wait for a reported settlement to be visible on `publicClient` (ms). @default 10000 */
  verifyTimeoutMs?: number
  /** Re-asks after a broken stream or SETTLEMENT_PENDING (spec §4.4). @default 6 */
  reaskAttempts?: number
  /** Pause before the first re-ask (ms); it doubles for each further one, up to 10000 (a seller's `retryAfterMs` wins). @default 500 */
  reaskDelayMs?: number
  /**
   * Journals every paid call (spec §6.2) — e.g. `datastoreCallJournal(datastore)` on the node's LevelDB: written before
   * signing, with the signed payment before sending, and with the outcome on arrival. A call whose correlation id is
   * journaled is answered from the journal (stored result or error) or re-asked with its stored payment — never paid
   * twice, across restarts. A seller binds a call to the calling peer, so re-asks after a restart need the same peer
   * id (keep the node's private key). Calls over `/x402/libp2p/1.0.0` are not journaled.
   */
  journal?: CallJournal
}

export interface X402ClientComponents {
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

/** Per-call options. */
export interface CallOptions extends AbortOptions {
  /** Most this call may pay, in atomic units. Required to pay; omit for free resources. */
  maxAmount?: bigint
  /** The payee the caller expects (normally the seller's listing / ERC-8004 agentWallet). Required to pay. */
  payTo?: Address
  /** Override the client's asset for this call. */
  asset?: PaymentAsset
  /** 1-trip: pay up front with requirements the caller already holds (e.g. from the seller's listing). */
  preemptive?: PaymentRequirements
  /**
   * Names the call (1–64 of `[A-Za-z0-9_-]`). Calling again with the same id re-asks for the same call instead of
   * paying again: with a journal, across restarts too. @default a random UUID v4
   */
  correlationId?: string
  contentType?: string
  /** Stored with the call in the journal (e.g. the listing it was bought from). */
  metadata?: Record<string, unknown>
}

/** The outcome of a call. */
export interface CallResult {
  body: Uint8Array
  contentType: string
  correlationId: string
  /** Protocol actually spoken. */
  protocol: string
  /**
   * The settlement of a paid call: with a `publicClient`, the transaction found on-chain to have made this payment's
   * transfer; without one, the seller's report. Absent when the check found no transfer (`settlementCheck`
   * `unconfirmed`: the result came without the payment — the budget stays reserved until the authorization lapses).
   */
  settlement?: SettleResponse
  /**
   * How the settlement was checked: `verified` on the client's chain reader, `unconfirmed` (no transfer found),
   * `unchecked` (no chain reader, or it could not be read). Absent for free calls.
   */
  settlementCheck?: 'verified' | 'unconfirmed' | 'unchecked'
  /** What was paid, in atomic units (0n when free). */
  amount: bigint
  /**
   * The seller answered a `deferred` resource before settling (spec §7.7): `settlement` is x402's shape with
   * `success: false`, `errorReason: 'settlement_deferred'`; the authorization is settled in the seller's next batch.
   */
  deferred?: boolean
}

export interface PaymentSignedDetail {
  peer: PeerId
  correlationId: string
  requirements: PaymentRequirements
}

export interface X402ClientEvents {
  /** An authorization was signed (after approval and budget checks). */
  'payment:signed': CustomEvent<PaymentSignedDetail>
  /** A paid call returned with its settlement. */
  'payment:settled': CustomEvent<PaymentSignedDetail & { settlement: SettleResponse }>
}

/** The buyer side of x402 over libp2p. */
export interface X402Client extends TypedEventTarget<X402ClientEvents> {
  /**
   * Calls `resource` on a peer, paying if asked — only within `maxAmount`, to `payTo`, in the configured asset, and
   * within the budget. Throws {@link X402Error} for protocol errors and `PaymentNotApprovedError` when the seller asks
   * for something the caller did not approve (nothing is signed then).
   */
  call(
    peer: PeerId | Multiaddr | Multiaddr[],
    resource: string,
    /** The request: bytes as they are, or a string sent as its UTF-8 encoding; anything else throws `InvalidCallBodyError`. */
    body: Uint8Array | string,
    options?: CallOptions
  ): Promise<CallResult>
  /**
   * Finishes a journaled paid call (spec §6.2): its stored result, its stored error, or — while its outcome is not
   * known — a re-ask with the stored payment, dialling the addresses the seller was reached at. Never signs. Throws
   * {@link CallNotFoundError} when the journal holds no paid call with this id, and what `call` throws otherwise.
   */
  resume(correlationId: string, options?: AbortOptions): Promise<CallResult>
  /** Remaining budget, or `undefined` when unlimited. */
  budgetRemaining(): bigint | undefined
}
