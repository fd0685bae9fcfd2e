/** A deployment transaction was mined but reverted, or created no contract. */
export class ContractDeploymentError extends Error {
  static override name = 'ContractDeploymentError'
  /** Name of the contract that failed to deploy, e.g. `IdentityRegistry`. */
  readonly contract: string
  /** The deployment transaction. */
  readonly transactionHash: `0x${string}`

  constructor(contract: string, transactionHash: `0x${string}`, reason: string) {
    super(`${contract} deployment ${transactionHash} ${reason}`)
    this.name = 'ContractDeploymentError'
    this.contract = contract
    this.transactionHash = transactionHash
  }
}
