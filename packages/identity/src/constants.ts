/** Largest registration file accepted or written, in bytes (64 KiB). */
export const MAX_REGISTRATION_FILE_BYTES = 64 * 1024

/**
 * Deepest nesting of arrays and objects in a registration file. Unknown fields are kept and encoded again (storing,
 * hashing, serving), and `JSON.stringify` overflows the stack near 4,000 levels — 4 KB of `[` (issue 13).
 */
export const MAX_REGISTRATION_FILE_DEPTH = 64

/** Most `services` entries a registration file may list. */
export const MAX_SERVICES = 64

/** Most `registrations` entries a registration file may list. */
export const MAX_REGISTRATIONS = 64

/** The `name` of the service entry that advertises the agent's libp2p peer. */
export const LIBP2P_SERVICE_NAME = 'libp2p'

/** The x402-over-libp2p protocol ids a Betar seller speaks, newest first. */
export const X402_LIBP2P_PROTOCOLS: readonly string[] = ['/x402/libp2p/2.0.0', '/x402/libp2p/1.0.0']

/** How long {@link fetchAgentFile} waits for a file by default, in milliseconds. */
export const DEFAULT_FETCH_TIMEOUT_MS = 30_000
