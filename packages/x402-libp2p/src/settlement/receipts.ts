import type { Hash, PublicClient, TransactionReceipt } from 'viem'

/** Receipt polling back-off: fast at first (local chains mine in milliseconds), then every 100 ms. */
const POLL_STEPS_MS = [2, 4, 8, 16, 32, 64]
const POLL_MAX_MS = 100

/** The receipt of `hash`, `undefined` while none exists; throws when the node could not be asked. */
export async function getReceipt(client: PublicClient, hash: Hash): Promise<TransactionReceipt | undefined> {
  try {
    return await client.getTransactionReceipt({ hash })
  } catch (err) {
    if ((err as Error).name === 'TransactionReceiptNotFoundError') return undefined
    throw err
  }
}

/**
 * Polls for a receipt of any of `hashes` until `timeoutMs`. A failed poll is retried — an RPC error never loses the
 * transaction (unlike viem's `waitForTransactionReceipt`, which rejects on the first failed request and polls on a
 * fixed interval). Resolves `undefined` when none arrived in time; rejects only when `signal` aborts.
 */
export async function waitForReceipt(
  client: PublicClient,
  hashes: readonly Hash[],
  timeoutMs: number,
  signal?: AbortSignal
): Promise<TransactionReceipt | undefined> {
  const deadline = Date.now() + timeoutMs
  for (let i = 0; ; i++) {
    signal?.throwIfAborted()
    for (const hash of hashes) {
      try {
        const receipt = await getReceipt(client, hash)
        if (receipt != null) return receipt
      } catch {
        // transient: poll again
      }
    }
    const wait = Math.min(POLL_STEPS_MS[i] ?? POLL_MAX_MS, deadline - Date.now())
    if (wait <= 0) return undefined
    await new Promise((resolve) => setTimeout(resolve, wait))
  }
}
