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

/** Longest `maxTimeoutSeconds` a buyer signs for by default (spec §6). */
export const DEFAULT_CLIENT_MAX_TIMEOUT_SECONDS = 300

/** How long call records (stored results) are kept (spec §7). */
export const DEFAULT_RECORD_TTL_MS = 24 * 60 * 60 * 1000

/** How long the server waits for a settlement receipt before answering SETTLEMENT_PENDING. */
export const DEFAULT_SETTLEMENT_TIMEOUT_MS = 30_000

/** Handler time limit. */
export const DEFAULT_EXECUTION_TIMEOUT_MS = 60_000

/** Inbound streams per connection for the protocol (js-libp2p service convention). */
export const DEFAULT_MAX_INBOUND_STREAMS = 64

/** Outbound streams per connection. */
export const DEFAULT_MAX_OUTBOUND_STREAMS = 64

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
