import type { Hash, TransactionReceipt } from 'viem'
import type { WriteClients } from './clients.ts'
import { TransactionFailedError, toRegistryCallError } from './errors.ts'

/**
 * Simulates (so reverts surface as typed errors), sends (gas estimated by viem) and waits for one contract call.
 * @internal
 */
export async function writeAndWait(
  clients: WriteClients,
  call: { simulate: () => Promise<unknown>; send: () => Promise<Hash> },
  action: string
): Promise<{ txHash: Hash; receipt: TransactionReceipt }> {
  const { publicClient, signal } = clients
  signal?.throwIfAborted()
  let txHash: Hash
  try {
    await call.simulate()
    signal?.throwIfAborted()
    txHash = await call.send()
  } catch (error) {
    if (signal?.aborted === true) throw signal.reason
    throw toRegistryCallError(error, action)
  }
  const receipt = await publicClient.waitForTransactionReceipt({ hash: txHash })
  if (receipt.status !== 'success') {
    throw new TransactionFailedError(`${action} transaction reverted`, { details: txHash })
  }
  return { txHash, receipt }
}
