/** GossipSub topic prefix of the marketplace; the epoch number is appended (`betar/marketplace/crdt/1/<epoch>`). */
export const DEFAULT_TOPIC = 'betar/marketplace/crdt/1'

/** Protocol name shared by every version of the sync protocol; the id is `/<name>/<version>`. */
export const SYNC_PROTOCOL_NAME = 'betar/marketplace/sync'

/**
 * Version 2: chunked state sync with flow control (see the package README, "Sync protocol"). Version 1 sent a whole
 * epoch's state as one frame, which broke at the 4 MiB read buffer of `@libp2p/utils`' byte stream; it is no longer
 * served.
 */
export const SYNC_PROTOCOL_VERSION = '2.0.0'

/** `/betar/marketplace/sync/2.0.0` */
export const SYNC_PROTOCOL = `/${SYNC_PROTOCOL_NAME}/${SYNC_PROTOCOL_VERSION}`

/**
 * A sender groups keys into chunks of about this size. Well under the 4 MiB read buffer of `@libp2p/utils`' byte
 * stream (`maxBufferSize`); one chunk holds ≈ 220–280 listings, which a receiver applies in steps of at most 128 keys
 * (its event loop stays responsive). 128 KiB chunks made a 100,000-listing sync ≈ 8% slower (twice the frames, ACKs
 * and Yjs transactions).
 */
export const DEFAULT_SYNC_CHUNK_SIZE = 256 * 1024

/**
 * Largest sync frame accepted. A seller's new entries always travel in one chunk (validation needs a key's history and
 * its live entry together), so this also bounds the state one seller can have synced.
 */
export const DEFAULT_MAX_SYNC_FRAME_SIZE = 2 * 1024 * 1024

/**
 * Unacknowledged chunk bytes a sender may have in flight. With the largest frame this keeps a receiver's read buffer
 * under `maxSyncFrameSize + window`, below the 4 MiB cap.
 */
export const SYNC_WINDOW_BYTES = 1024 * 1024

/** Largest state accepted by one sync, in chunk bytes. 100,000 fresh listings are ≈ 90 MB. */
export const DEFAULT_MAX_SYNC_SIZE = 256 * 1024 * 1024

/** Time limit of one whole sync exchange. */
export const DEFAULT_SYNC_TIMEOUT_MS = 60_000

/** Longest wait for the next frame of a sync (a peer that stops sending is dropped after this). */
export const DEFAULT_SYNC_IDLE_TIMEOUT_MS = 10_000

/** A sync is abandoned after this many chunks were rejected: the peer is sending invalid state. */
export const MAX_REJECTED_CHUNKS = 8

/**
 * State vector bytes one session accepts: ≈ 3 million clients (one per listing key), far above any honest epoch, and
 * held as received bytes until read.
 */
export const MAX_VECTOR_BYTES = 32 * 1024 * 1024

/** Epochs one HELLO may list (a node holds two; three allows for a clock at an epoch edge). */
export const MAX_HELLO_EPOCHS = 3

/** Inbound sync streams per connection (libp2p refuses more, after negotiation, with a reset). */
export const SYNC_MAX_INBOUND_STREAMS = 2

/** Outbound sync streams per connection. */
export const SYNC_MAX_OUTBOUND_STREAMS = 2

/** Inbound syncs served at once across all peers; more are answered BUSY. */
export const DEFAULT_MAX_CONCURRENT_SYNCS = 4

/** Inbound syncs per peer: a burst of this many, then one per {@link DEFAULT_SYNC_REFILL_MS}. */
export const DEFAULT_SYNC_BURST = 4

/** See {@link DEFAULT_SYNC_BURST}. */
export const DEFAULT_SYNC_REFILL_MS = 15_000

/** An outbound catch-up sync (after a gossip update that needs one) with the same peer at most this often. */
export const CATCH_UP_SYNC_INTERVAL_MS = 2_000

/** A catch-up sync waits this long first: the missing update may be in flight, and a burst coalesces into one sync. */
export const CATCH_UP_DELAY_MS = 250

/**
 * Gossip updates per peer that may fail only for a missing earlier update (`needsSync`: ignored, then a catch-up sync)
 * in a burst; past it they count as invalid (rejected, so GossipSub scoring sees them). Refilled one per second.
 */
export const NEEDS_SYNC_BURST = 16

/**
 * Gossip updates per peer that are only stale or over a seller's quota *here* (an honest relay may forward them, so
 * they are ignored rather than scored), or that change nothing (a replay republished as a new message), in a burst;
 * past it they count as invalid. Refilled four per second.
 */
export const DOUBTFUL_BURST = 64

/** `findSellers`: how long one provider has to connect and start answering the sync. */
export const DEFAULT_PROVIDER_TIMEOUT_MS = 3_000

/** `findSellers`: how long a provider that delivered no valid listing is skipped. */
export const DEFAULT_PROVIDER_BACKOFF_MS = 10 * 60_000

/** `findSellers`: overall time limit when the caller passes no signal. */
export const DEFAULT_FIND_SELLERS_TIMEOUT_MS = 10_000

/** Providers remembered as useless at once (oldest forgotten first). */
export const MAX_REMEMBERED_PROVIDERS = 10_000
