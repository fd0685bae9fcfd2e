import type { VerifyReason } from '@betar/identity'

/** No live listing offers the capability within the price. */
export class NoSellerError extends Error {
  override name = 'NoSellerError'
  /** Peers the node was connected to when it looked (0: it could not look — see `NO_PEERS_HINT`). */
  readonly connectedPeers: number | undefined

  constructor(message: string, options: { connectedPeers?: number } = {}) {
    super(message)
    this.connectedPeers = options.connectedPeers
  }
}

/**
 * Sellers offer the capability, but none could be dialled (each is marked stale and tried after live sellers for the
 * next 10 minutes): their listings outlive them until they expire.
 */
export class SellerUnreachableError extends Error {
  override name = 'SellerUnreachableError'
}

/** The listing's ERC-8004 identity claim does not hold; `reasons` lists every mismatch. */
export class ListingVerificationError extends Error {
  override name = 'ListingVerificationError'
  readonly reasons: VerifyReason[]

  constructor(reasons: VerifyReason[]) {
    super(`listing failed identity verification: ${reasons.map((r) => `${r.code} (${r.message})`).join('; ')}`)
    this.reasons = reasons
  }
}

/** The agent's reputation score is below the buyer's minimum. */
export class ReputationTooLowError extends Error {
  override name = 'ReputationTooLowError'
}

/** An agent's executor failed its health check: it is not put on sale. `problem` says why (for the operator). */
export class AgentUnhealthyError extends Error {
  override name = 'AgentUnhealthyError'
  readonly agent: string
  readonly problem: string

  constructor(agent: string, problem: string) {
    super(`agent "${agent}" is not healthy, not listing it: ${problem}`)
    this.agent = agent
    this.problem = problem
  }
}

/**
 * The wallet holds less USDC than the job costs: refused before anything is signed. Amounts in atomic USDC units.
 */
export class InsufficientFundsError extends Error {
  override name = 'InsufficientFundsError'
  /** The paying wallet. */
  readonly address: string
  /** Its USDC balance, atomic units. */
  readonly balance: bigint
  /** What the job costs, atomic units. */
  readonly required: bigint

  constructor(address: string, balance: bigint, required: bigint, message: string) {
    super(message)
    this.address = address
    this.balance = balance
    this.required = required
  }
}

/** Another process (e.g. a running `betar start`) holds this LevelDB datastore: one process per data dir. */
export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError'
  readonly path: string

  constructor(path: string) {
    super(`the datastore ${path} is in use by another process`)
    this.path = path
  }
}
