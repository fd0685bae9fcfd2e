import type { AbortOptions } from '@libp2p/interface'
import type { Account, Address, Chain, Hash, PublicClient, Transport, WalletClient } from 'viem'
import { RegistryError } from './errors.ts'
import { toRegistryError } from './revert.ts'

/** Any viem wallet client with an account; it signs and sends the registry transactions. */
export type RegistryWalletClient = WalletClient<Transport, Chain | undefined, Account>

/** Any viem public client on the registry's chain; it simulates, estimates gas, and reads. */
export type RegistryPublicClient = PublicClient<Transport, Chain | undefined>

/** Clients and registry every write takes. */
export interface RegistryWriteOptions extends AbortOptions {
  walletClient: RegistryWalletClient
  publicClient: RegistryPublicClient
  /** The Identity Registry address. */
  identityRegistry: Address
}

/**
 * Simulates a call (so reverts surface with their reason before anything is sent), sends it with viem-estimated
 * gas, and waits for a successful receipt. Reverts are mapped by {@link toRegistryError}.
 */
export async function sendAndWait(
  options: AbortOptions & { publicClient: RegistryPublicClient },
  action: string,
  send: () => Promise<Hash>
): Promise<Awaited<ReturnType<RegistryPublicClient['waitForTransactionReceipt']>>> {
  options.signal?.throwIfAborted()
  let hash: Hash
  try {
    hash = await send()
  } catch (error) {
    throw toRegistryError(error, action)
  }
  const receipt = await options.publicClient.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success') throw new RegistryError(`${action} transaction ${hash} reverted`)
  return receipt
}
