import type { Hash, PublicClient, TransactionReceipt } from 'viem'
import { getReceipt, type ReceiptWatcher, receiptWatcherFor } from './receipt-watcher.ts'

export { getReceipt }

/**
 * Waits for a receipt of any of `hashes` until `timeoutMs`, through the client's shared {@link ReceiptWatcher} (one
 * reader of new blocks per client, whatever the number of waiting calls). A failed read is retried — an RPC error never
 * loses the transaction (unlike viem's `waitForTransactionReceipt`, which rejects on the first failed request). Resolves
 * `undefined` when none arrived in time; rejects only when `signal` aborts.
 */
export function waitForReceipt(
  client: PublicClient,
  hashes: readonly Hash[],
  timeoutMs: number,
  signal?: AbortSignal
): Promise<TransactionReceipt | undefined> {
  return receiptWatcherFor(client).wait(hashes, timeoutMs, signal)
}
