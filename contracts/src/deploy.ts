import {
  type Account,
  type Address,
  type Chain,
  getAddress,
  type Hash,
  type PublicClient,
  type Transport,
  type WalletClient
} from 'viem'
import { ContractDeploymentError } from './errors.ts'
import { identityRegistryAbi, identityRegistryBytecode } from './generated/IdentityRegistry.ts'
import { reputationRegistryAbi, reputationRegistryBytecode } from './generated/ReputationRegistry.ts'
import { validationRegistryAbi, validationRegistryBytecode } from './generated/ValidationRegistry.ts'

/** The clients {@link deployErc8004Registries} sends with (the wallet pays) and waits with. */
export interface DeployClients {
  /** A wallet client with an account; it signs and pays for the three deployments. */
  readonly walletClient: WalletClient<Transport, Chain | undefined, Account>
  /** Waits for the receipts. */
  readonly publicClient: PublicClient
}

/** Options of {@link deployErc8004Registries}. */
export interface DeployOptions {
  /** Stops before the next transaction is sent, or while a receipt is awaited. Sent transactions stay sent. */
  readonly signal?: AbortSignal
}

/** Addresses of a freshly deployed set of ERC-8004 registries. */
export interface Erc8004Registries {
  readonly identityRegistry: Address
  readonly reputationRegistry: Address
  readonly validationRegistry: Address
}

/**
 * Deploys our ERC-8004 Identity Registry, then the Reputation and Validation registries wired to it, one after the
 * other, waiting for each receipt. Gas is estimated by the node.
 *
 * @throws {ContractDeploymentError} when a deployment reverts or creates no contract
 * @example
 * ```ts
 * const { identityRegistry } = await deployErc8004Registries({ walletClient, publicClient })
 * ```
 */
export async function deployErc8004Registries(
  clients: DeployClients,
  options: DeployOptions = {}
): Promise<Erc8004Registries> {
  const { walletClient } = clients
  const { signal } = options
  const tx = { account: walletClient.account, chain: walletClient.chain ?? null } as const

  signal?.throwIfAborted()
  const identityRegistry = await confirm(
    clients,
    'IdentityRegistry',
    await walletClient.deployContract({ ...tx, abi: identityRegistryAbi, bytecode: identityRegistryBytecode }),
    signal
  )
  signal?.throwIfAborted()
  const reputationRegistry = await confirm(
    clients,
    'ReputationRegistry',
    await walletClient.deployContract({
      ...tx,
      abi: reputationRegistryAbi,
      bytecode: reputationRegistryBytecode,
      args: [identityRegistry]
    }),
    signal
  )
  signal?.throwIfAborted()
  const validationRegistry = await confirm(
    clients,
    'ValidationRegistry',
    await walletClient.deployContract({
      ...tx,
      abi: validationRegistryAbi,
      bytecode: validationRegistryBytecode,
      args: [identityRegistry]
    }),
    signal
  )
  return { identityRegistry, reputationRegistry, validationRegistry }
}

/** Waits for a deployment's receipt (or the abort) and returns the new contract's checksummed address. */
async function confirm(
  { publicClient }: DeployClients,
  contract: string,
  hash: Hash,
  signal: AbortSignal | undefined
): Promise<Address> {
  const receipt = await abortable(publicClient.waitForTransactionReceipt({ hash }), signal)
  if (receipt.status !== 'success') throw new ContractDeploymentError(contract, hash, 'reverted')
  if (receipt.contractAddress == null) throw new ContractDeploymentError(contract, hash, 'created no contract')
  return getAddress(receipt.contractAddress)
}

/** Settles like `promise`, or rejects with the signal's reason as soon as it aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal == null) return promise
  signal.throwIfAborted()
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
