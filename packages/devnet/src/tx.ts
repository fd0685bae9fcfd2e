import { getAddress, type Hash, type PublicClient, type TransactionReceipt } from 'viem'
import { DevnetDeployError } from './errors.ts'

/** Waits for a transaction and fails with the step's name when it reverted. */
export async function confirm(
  publicClient: PublicClient,
  step: string,
  hash: Hash | Promise<Hash>,
  signal?: AbortSignal
): Promise<TransactionReceipt> {
  signal?.throwIfAborted()
  let receipt: TransactionReceipt
  try {
    receipt = await publicClient.waitForTransactionReceipt({ hash: await hash, pollingInterval: 10 })
  } catch (err) {
    throw new DevnetDeployError(`${step}: ${(err as Error).message}`, { cause: err })
  }
  if (receipt.status !== 'success')
    throw new DevnetDeployError(`${step}: transaction ${receipt.transactionHash} reverted`)
  return receipt
}

/** Waits for a deployment and returns the new contract's address. */
export async function confirmDeploy(
  publicClient: PublicClient,
  step: string,
  hash: Hash | Promise<Hash>,
  signal?: AbortSignal
): Promise<`0x${string}`> {
  const receipt = await confirm(publicClient, step, hash, signal)
  if (receipt.contractAddress == null) throw new DevnetDeployError(`${step}: no contract address in receipt`)
  return getAddress(receipt.contractAddress)
}
