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

/** A faucet request is invalid: an amount is not a decimal, negative or above its maximum, or the address is not one. */
export class FaucetRequestError extends Error {
  static override name = 'FaucetRequestError'

  constructor(message = 'invalid faucet request') {
    super(message)
    this.name = 'FaucetRequestError'
  }
}

/** The faucet cannot run: the RPC is not the devnet's anvil node, or it does not answer. */
export class FaucetUnavailableError extends Error {
  static override name = 'FaucetUnavailableError'

  constructor(message = 'the faucet exists only on the Betar devnet', options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'FaucetUnavailableError'
  }
}
