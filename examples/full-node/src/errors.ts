import type { VerifyReason } from '@betar/identity'

/** No live listing offers the capability within the price. */
export class NoSellerError extends Error {
  override name = 'NoSellerError'
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
