/** Protocol name shared by every version; the id is `<prefix>/x402/libp2p/<version>`. */
export const PROTOCOL_NAME = 'x402/libp2p'

/** Current protocol version (protobuf framing). */
export const PROTOCOL_VERSION = '2.0.0'

/** `/x402/libp2p/2.0.0`: the preferred protocol. */
export const X402_PROTOCOL = `/${PROTOCOL_NAME}/${PROTOCOL_VERSION}`

/**
 * Version of the session protocol (spec §2.1): the 2.0.0 frames and messages, with many exchanges on one long-lived
 * stream, told apart by correlation id.
 */
export const SESSION_PROTOCOL_VERSION = '2.1.0'

/** `/x402/libp2p/2.1.0`: sessions — a buyer's calls to a seller share one stream (spec §2.1). */
export const X402_SESSION_PROTOCOL = `/${PROTOCOL_NAME}/${SESSION_PROTOCOL_VERSION}`

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

/**
 * Deepest nesting of arrays and objects in an x402 JSON object from a peer (spec §3). x402 objects nest 4–6 levels;
 * checked before parsing, because canonical JSON overflowed the stack on an `accepted.extra.name` 3,000 levels deep
 * inside 6.7 KB (issue 13, fault 3).
 */
export const MAX_X402_JSON_DEPTH = 64

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

/**
 * Multicall3's address on every EVM chain it is deployed to (Base, Base Sepolia, Ethereum, … and the Betar devnet):
 * batched settlements are one `aggregate3` call to it (https://www.multicall3.com, "deployments").
 */
export const MULTICALL3_ADDRESS = '0xcA11bde05977b3631167028862bE2a173976CA11' as const

/** Authorizations settled in one batch transaction, at most (64 × the 150 k gas cap stays under 10 M gas). */
export const DEFAULT_BATCH_MAX_SIZE = 64

/**
 * Shortest wait of a batch for more members (ms) on a chain that mines on demand: settlements arriving together share
 * one transaction without delaying any of them by more than this.
 */
export const DEFAULT_BATCH_MIN_LINGER_MS = 5

/**
 * Longest wait of a batch for more members (ms). On a chain with block times the batch closes just before the next
 * block is due (learnt by the receipt watcher), so this only bounds a long interval.
 */
export const DEFAULT_BATCH_MAX_LINGER_MS = 2_000

/** Gas of a batch besides its members' caps: the transaction, `aggregate3` and its loop (about 3 k per call). */
export const BATCH_BASE_GAS = 40_000n
export const BATCH_GAS_PER_CALL = 8_000n

/**
 * Per-payer credit of `settlement: 'deferred'` resources: the most a payer may owe the seller in deferred calls whose
 * settlement is not confirmed, in atomic units (USDC has 6 decimals: 50 000 = 5 cents).
 */
export const DEFAULT_DEFERRED_CREDIT_LIMIT = 50_000n

/** How long a nonce gap that no live settlement explains is left to its writer before it is filled. */
export const DEFAULT_GAP_GRACE_MS = 5_000

/** A facilitator `/settle` whose answer was lost is submitted again after this long if the authorization is unused. */
export const DEFAULT_FACILITATOR_RESUBMIT_MS = 10_000

/** Handler time limit. */
export const DEFAULT_EXECUTION_TIMEOUT_MS = 60_000

/** Exchanges in progress on one session a server serves; more are answered RATE_LIMITED (spec §2.1). */
export const DEFAULT_MAX_EXCHANGES_PER_SESSION = 64

/** Sessions one connection may hold open to a server (one is the norm; a few cover reconnection races). */
export const DEFAULT_MAX_SESSIONS_PER_CONNECTION = 8

/** A server closes a session with nothing in progress and no frame for this long (ms). */
export const DEFAULT_SERVER_SESSION_IDLE_TIMEOUT_MS = 30_000

/** A client closes a session with no exchange for this long (ms): before the server's idle timeout. */
export const DEFAULT_SESSION_IDLE_TIMEOUT_MS = 10_000

/** Exchanges a client runs on one session at once (under the server's bound); more open another session. */
export const MAX_EXCHANGES_PER_CLIENT_SESSION = 32

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
