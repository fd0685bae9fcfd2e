/** A devnet deployment step failed (a transaction reverted or a post-condition did not hold). */
export class DevnetDeployError extends Error {
  static override name = 'DevnetDeployError'

  constructor(message = 'devnet deployment failed', options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'DevnetDeployError'
  }
}

/** An unknown network name was requested. */
export class UnknownNetworkError extends Error {
  static override name = 'UnknownNetworkError'

  constructor(network: string) {
    super(`unknown network "${network}"`)
    this.name = 'UnknownNetworkError'
  }
}
