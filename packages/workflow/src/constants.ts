/** Most steps one workflow may hold: a workflow is a plan a person or agent reviews, not a program. */
export const MAX_STEPS = 32

/** Longest step or workflow id (`[A-Za-z0-9_-]`). */
export const MAX_ID_LENGTH = 64

/** Largest workflow definition (its canonical JSON, input and templates included), in bytes. */
export const MAX_DEFINITION_BYTES = 256 * 1024

/** Deepest nesting of an input template or workflow input (the executor refuses bodies past 64 levels). */
export const MAX_TEMPLATE_DEPTH = 32

/** Most sellers one step may try (the first plus fallbacks). */
export const MAX_SELLERS_PER_STEP = 8

/** Most attempts on one seller for a step (retryable failures before anything was paid). */
export const MAX_ATTEMPTS_PER_SELLER = 5

/** Largest amount in atomic units a definition may state (2^128: far above any USDC supply). */
export const MAX_AMOUNT = 2n ** 128n

/** Steps a workflow runs at the same time. @default 4 */
export const DEFAULT_CONCURRENCY = 4

/** Default sellers tried per step: the best one and two fallbacks. */
export const DEFAULT_MAX_SELLERS = 3

/** Default time limit of one step's paid call (settlement and execution included). */
export const DEFAULT_STEP_TIMEOUT_MS = 180_000

/** Re-asks of an interrupted paid call (same correlation id, never a new payment) before the step is left `unresolved`. */
export const DEFAULT_REASKS = 3

/** Datastore prefix of workflow records. */
export const WORKFLOW_PREFIX = '/betar/workflow/1'

/** Receipt format version. */
export const RECEIPT_VERSION = 1

/** The hash a receipt chain starts from (before the genesis entry). */
export const ZERO_HASH = `0x${'0'.repeat(64)}` as const
