/** Loopback only: anvil's dev accounts are unlocked, so it must never listen on a routable interface. */
export const DEFAULT_HOST = '127.0.0.1'

/** Anvil's and Hardhat's conventional local chain id. */
export const DEFAULT_CHAIN_ID = 31337

/** Anvil answers in 170–240 ms on a 2-core machine; 10 s leaves room for a loaded CI box. */
export const DEFAULT_START_TIMEOUT_MS = 10_000

/** Time between SIGTERM and SIGKILL when stopping. */
export const STOP_GRACE_MS = 2_000

/** Lines of anvil output kept for error messages. */
export const LOG_TAIL_LINES = 50

/** The mnemonic anvil derives its default dev accounts from. */
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk'
