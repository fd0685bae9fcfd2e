/** Protocol name shared by every version; the id is `<prefix>/x402/libp2p/<version>`. */
export const PROTOCOL_NAME = 'x402/libp2p'

/** Current protocol version (protobuf framing). */
export const PROTOCOL_VERSION = '2.0.0'

/** `/x402/libp2p/2.0.0`: the preferred protocol. */
export const X402_PROTOCOL = `/${PROTOCOL_NAME}/${PROTOCOL_VERSION}`

/** `/x402/libp2p/1.0.0`: wire-compatible with the Betar Go prototype. */
export const X402_PROTOCOL_V1 = `/${PROTOCOL_NAME}/1.0.0`

/** x402 data-model version carried inside our frames. */
export const X402_VERSION = 2

/** Largest request/response body by default (spec §3). */
export const DEFAULT_MAX_BODY_SIZE = 1024 * 1024

/** Frame overhead allowed on top of the body (spec §2). */
export const FRAME_OVERHEAD = 64 * 1024

/** Largest x402 JSON object (payment payload, payment required, settlement, error details) (spec §3). */
export const MAX_X402_JSON_SIZE = 16 * 1024

/** Time allowed for each inbound frame before the stream is aborted (spec §2). */
export const DEFAULT_FRAME_TIMEOUT_MS = 10_000

/** How long a challenge stays valid (spec §5). */
export const DEFAULT_CHALLENGE_TTL_SECONDS = 120

/** x402's usual `maxTimeoutSeconds`; at least 60 s so settlement fits (x402 issue pitfalls: clock skew, 6 s buffer). */
export const DEFAULT_MAX_TIMEOUT_SECONDS = 60

/** Tolerated clock difference between buyer and seller (spec §5 step 8c). */
export const DEFAULT_CLOCK_SKEW_SECONDS = 30

/** Minimum time left on an authorization for the seller to settle it (spec §5 step 8c). */
export const DEFAULT_MIN_SETTLE_WINDOW_SECONDS = 10

/** How long a buyer waits for a settlement the seller reports to be visible on its own chain reader (spec §6). */
export const DEFAULT_VERIFY_TIMEOUT_MS = 10_000

/** Longest `maxTimeoutSeconds` a buyer signs for by default (spec §6). */
export const DEFAULT_CLIENT_MAX_TIMEOUT_SECONDS = 300

/** How long call records (stored results) are kept (spec §7). */
export const DEFAULT_RECORD_TTL_MS = 24 * 60 * 60 * 1000

/** How long a challenge is kept after it expired, to answer NONCE_EXPIRED rather than treat the nonce as new (spec §7.4). */
export const DEFAULT_CHALLENGE_RETENTION_MS = 5 * 60 * 1000

/** Challenges stored at once across all peers (answered or not); the oldest is evicted beyond it (spec §7.4, §10). */
export const DEFAULT_MAX_STORED_CHALLENGES = 10_000

/** Paid calls not yet terminal (reserved, settling, settled-not-executed) across all peers (spec §7.4, §10). */
export const DEFAULT_MAX_PENDING_CALLS = 4_096

/**
 * Paid calls not yet terminal per payer: one payer cannot hold the whole table (each needs its balance to cover them,
 * and its settlements in flight are bounded separately).
 */
export const DEFAULT_MAX_PENDING_CALLS_PER_PAYER = 32

/** How long the server waits for a settlement to confirm before answering SETTLEMENT_PENDING. */
export const DEFAULT_SETTLEMENT_TIMEOUT_MS = 30_000

/** First delay of the background resolver for a pending call; it doubles up to {@link MAX_RESOLVE_INTERVAL_MS}. */
export const DEFAULT_RESOLVE_INTERVAL_MS = 1_000

/** Longest delay between two resolutions of a pending call. */
export const MAX_RESOLVE_INTERVAL_MS = 15_000

/** Settlements the background resolver runs at once. */
export const RESOLVER_CONCURRENCY = 8

/**
 * Gas limit of a settlement whose payer is an externally owned account. `transferWithAuthorization` on USDC uses about
 * 60–90 k (86 k measured on FiatTokenV2_2, 103 k when the payee's balance was zero), so 150 k leaves room.
 */
export const DEFAULT_SETTLEMENT_GAS_LIMIT = 150_000n

/** Extra gas allowed when the payer is a contract wallet: its ERC-1271 `isValidSignature` runs inside the transfer. */
export const DEFAULT_CONTRACT_WALLET_EXTRA_GAS = 100_000n

/** How long a payer whose settlement reverted on-chain is refused: at most one reverted seller transaction per window. */
export const DEFAULT_PAYER_THROTTLE_MS = 10 * 60 * 1000

/** Longest gap between a verification's simulation and the broadcast for the simulation to count as the pre-broadcast check. */
export const DEFAULT_SIMULATION_REUSE_MS = 250

/** A settlement next in line but unmined this long is replaced with higher fees. */
export const DEFAULT_STUCK_AFTER_MS = 15_000

/** Fee raise of a replacement transaction, in percent (geth and anvil require at least 10). */
export const DEFAULT_FEE_BUMP_PERCENT = 25

/** Replacement fees never exceed this multiple of the settlement's first transaction's fees. */
export const DEFAULT_MAX_FEE_BUMP_FACTOR = 4

/**
 * Settlements of one payer in flight at once, at most: one while it has no confirmed payment to the seller, one more
 * per confirmed settlement, up to this.
 */
export const DEFAULT_MAX_IN_FLIGHT_PER_PAYER = 16

/** How long a nonce gap that no live settlement explains is left to its writer before it is filled. */
export const DEFAULT_GAP_GRACE_MS = 5_000

/** A facilitator `/settle` whose answer was lost is submitted again after this long if the authorization is unused. */
export const DEFAULT_FACILITATOR_RESUBMIT_MS = 10_000

/** Handler time limit. */
export const DEFAULT_EXECUTION_TIMEOUT_MS = 60_000

/** Inbound streams per connection for the protocol (js-libp2p service convention). */
export const DEFAULT_MAX_INBOUND_STREAMS = 64

/** Outbound streams per connection. */
export const DEFAULT_MAX_OUTBOUND_STREAMS = 64

/**
 * x402 calls in flight to one peer at a time on the client; more wait. Below the streams a connection carries (64)
 * and the paid calls a seller lets one payer have in progress (32).
 */
export const DEFAULT_MAX_CONCURRENT_CALLS_PER_PEER = 16

/** Requests per peer per second before RATE_LIMITED: far above one buyer's paid-call rate (~150/s measured), far below a flood. */
export const DEFAULT_RATE_LIMIT_PER_SECOND = 1000

/** Unpaid challenges a peer may hold at once (each is persisted; spec §10 resource exhaustion). */
export const DEFAULT_MAX_CHALLENGES_PER_PEER = 64

/** Correlation id syntax (spec §3). */
export const CORRELATION_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

/** Longest resource name in UTF-8 bytes (spec §3). */
export const MAX_RESOURCE_LENGTH = 256

/** Interval of the garbage collection of expired challenges, nonces and records. */
export const GC_INTERVAL_MS = 60_000

/** Gas limit of a refund: an ERC-20 `transfer` (about 35–60 k on FiatTokenV2_2), with room. */
export const DEFAULT_REFUND_GAS_LIMIT = 100_000n

/** Longest a resource's request validator may run before the request is refused. */
export const DEFAULT_VALIDATE_TIMEOUT_MS = 2_000

/**
 * Paid calls of one payer whose handler may fail (each failure costs the seller a refund transaction, or a handler run
 * it is not paid for) within {@link DEFAULT_FAILED_CALLS_WINDOW_SECONDS}; beyond it the payer is refused for a while.
 */
export const DEFAULT_MAX_FAILED_CALLS_PER_PAYER = 8

/** The window of {@link DEFAULT_MAX_FAILED_CALLS_PER_PAYER}, in seconds. */
export const DEFAULT_FAILED_CALLS_WINDOW_SECONDS = 600
