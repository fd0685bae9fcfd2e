/**
 * Wire constants of the Go Betar prototype (asabya/betar at 793ca02), and the bounds this bridge puts on what it reads.
 * Go's own values are cited; ours are chosen so one Go peer costs a node little.
 */

/** GossipSub topic of Go's JSON `AgentListingMessage` announcements (`marketplace.AnnounceTopic`). */
export const LEGACY_TOPIC = 'betar/marketplace/listings'

/** Go's legacy request/response protocol (`internal/p2p/stream.go`); the bridge speaks only its `info` message. */
export const LEGACY_PROTOCOL = '/betar/marketplace/1.0.0'

/** The message type that asks a peer for its listings. Its request data is empty. */
export const INFO_MESSAGE_TYPE = 'info'

/** Go's x402 protocol: what a Go buyer pays over, and what our announcements advertise. */
export const LEGACY_X402_PROTOCOL = '/x402/libp2p/1.0.0'

/** Go's frame bounds: a type of 1..128 UTF-8 bytes, data of at most 8 MiB (`maxMessageSize`). */
export const GO_MAX_TYPE_LENGTH = 128
export const GO_MAX_DATA_LENGTH = 8 * 1024 * 1024

/** Go's announce interval (`--announce-interval`, default 30 s; the SDK's is fixed at 30 s). */
export const DEFAULT_ANNOUNCE_INTERVAL_MS = 30_000

/** A Go listing not re-announced (or pulled again) for this long is dropped: ten of Go's default announce intervals. */
export const DEFAULT_LEGACY_TTL_MS = 5 * 60_000

/** Largest announcement read; a Go listing is a few hundred bytes (Go would take 1 MiB, GossipSub's default). */
export const DEFAULT_MAX_ANNOUNCEMENT_SIZE = 16 * 1024

/** Largest `info` reply read; Go allows 8 MiB of *all* its listings, of which we keep only the responder's own. */
export const DEFAULT_MAX_INFO_REPLY_SIZE = 1024 * 1024

/** Most elements of an `info` reply looked at (the rest are not parsed). */
export const DEFAULT_MAX_INFO_LISTINGS = 1_024

/** Legacy listings kept per seller, and in all. */
export const DEFAULT_MAX_LISTINGS_PER_PEER = 64
export const DEFAULT_MAX_LISTINGS = 4_096

/** Announcements per originating peer: a burst, then one per refill (Go's minimum interval is 5 s per agent). */
export const DEFAULT_ANNOUNCE_BURST = 32
export const DEFAULT_ANNOUNCE_REFILL_MS = 1_000

/** `info` pulls: at most one per peer per interval, a few at once, each bounded in time (Go uses 30 s). */
export const DEFAULT_PULL_INTERVAL_MS = 60_000
export const DEFAULT_MAX_CONCURRENT_PULLS = 4
export const DEFAULT_PULL_TIMEOUT_MS = 10_000

/** `info` requests served per peer: a burst, then one per refill; at most two streams per connection. */
export const DEFAULT_SERVE_BURST = 4
export const DEFAULT_SERVE_REFILL_MS = 10_000
export const MAX_INBOUND_STREAMS = 2
export const MAX_OUTBOUND_STREAMS = 2

/** Largest request data accepted when serving: `info` carries none. */
export const MAX_REQUEST_DATA_LENGTH = 1024
