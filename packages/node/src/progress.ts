import { usdcAbi } from '@betar/devnet'
import type { Listing } from '@betar/marketplace-crdt'
import type { PaymentSignedDetail } from '@betar/x402-libp2p'
import type { Address, Hex } from 'viem'
import type { BetarNode } from './node.ts'

/**
 * One step of a purchase, as `buyService`'s `onProgress` option reports it (shaped like libp2p's `ProgressEvent`: a
 * namespaced `type` and its `detail`), in this order:
 *
 * - `buy:discovering`: searching the DHT and the marketplace for sellers of the capability within `maxPrice`;
 * - `buy:discovered`: the listings found (cheapest first) — none throws `NoSellerError` instead;
 * - `buy:connecting`: dialling a seller at the addresses it signed (again for the next one when it cannot be reached);
 * - `buy:verifying`: checking the listing's ERC-8004 identity (registration file, agentWallet = payee) and reputation;
 * - `buy:verified`: the agent passed; `score` is its `starred` score when it has one;
 * - `buy:payment-signed`: the EIP-3009 authorization for `amount` to `payTo` is signed (the x402 client's
 *   `payment:signed`);
 * - `buy:payment-sent`: the signed payment is journaled and sent: the seller now verifies and settles it on-chain and
 *   runs the job (a seller whose resource settles `after` runs it first);
 * - `buy:payment-settled`: the authorization is used on-chain while the call is still open (read from the token, not
 *   told by the seller): the seller settled and is running the job, or about to answer — absent when the answer comes
 *   first (a `deferred` resource, a seller settling `after` that answers within one poll);
 * - `buy:result`: the result arrived, with the settlement transaction and how the buyer checked it;
 * - `buy:feedback`: the agent is being rated on ERC-8004 (only when feedback is given and the payment was verified).
 *
 * A resumed purchase (a journaled correlation id, or `resumePurchase`) reports `buy:resuming`, then `buy:result` and
 * `buy:feedback`. Amounts are atomic USDC units.
 */
export type BuyProgress =
  | { type: 'buy:discovering'; detail: { capability: string; maxPrice: bigint } }
  | { type: 'buy:discovered'; detail: { listings: Listing[] } }
  | { type: 'buy:connecting'; detail: { listing: Listing } }
  | { type: 'buy:verifying'; detail: { listing: Listing } }
  | { type: 'buy:verified'; detail: { listing: Listing; agentId: bigint; score?: number } }
  | { type: 'buy:payment-signed'; detail: { correlationId: string; amount: bigint; payTo: Address } }
  | { type: 'buy:payment-sent'; detail: { correlationId: string } }
  | { type: 'buy:payment-settled'; detail: { correlationId: string } }
  | {
      type: 'buy:result'
      detail: {
        correlationId: string
        transaction?: string
        settlementCheck?: 'verified' | 'unconfirmed' | 'unchecked'
      }
    }
  | { type: 'buy:feedback'; detail: { correlationId: string; agentId: string; rating: number } }
  | { type: 'buy:resuming'; detail: { correlationId: string } }

/** Receives a purchase's {@link BuyProgress}. What it throws is ignored: progress never changes a purchase. */
export type BuyProgressHandler = (event: BuyProgress) => void

/** How often the journal (for `sent`) and the token (for the settlement) are read while a payment is in flight. */
const JOURNAL_POLL_MS = 20
const SETTLEMENT_POLL_MS = 250

/** Calls `handler` with `event`, ignoring what it throws. */
export function report(handler: BuyProgressHandler | undefined, event: BuyProgress): void {
  if (handler == null) return
  try {
    handler(event)
  } catch {
    // progress is informational: a faulty handler must not fail (or half-finish) a paid call
  }
}

/**
 * Reports the payment steps of the x402 call `correlationId` that its result does not show, until `stop()`: signed
 * (the client's `payment:signed` event), sent (the journal entry turning `sent`, written just before the paid request
 * goes out) and settled (the authorization used on the token, polled while the call is open). The x402 client has no
 * hook for the last two; the journal and the chain say them without trusting the seller.
 */
export function watchPayment(
  node: Pick<BetarNode, 'services' | 'journal' | 'clients' | 'network'>,
  correlationId: string,
  handler: BuyProgressHandler
): { stop(): void } {
  const controller = new AbortController()
  const { signal } = controller
  const emit = (event: BuyProgress) => {
    if (!signal.aborted) report(handler, event)
  }
  const client = node.services.x402Client
  const onSigned = (e: CustomEvent<PaymentSignedDetail>) => {
    if (e.detail.correlationId !== correlationId) return
    const { amount, payTo } = e.detail.requirements
    emit({ type: 'buy:payment-signed', detail: { correlationId, amount: BigInt(amount), payTo: payTo as Address } })
    void afterSigned().catch(() => {})
  }
  const afterSigned = async () => {
    let authorization: { from: Address; nonce: Hex } | undefined
    for (;;) {
      const entry = await node.journal.get(correlationId, { signal }).catch(() => undefined)
      if (entry?.state === 'sent' && entry.payment != null) {
        authorization = (entry.payment.payload as { authorization?: { from: Address; nonce: Hex } }).authorization
        if (authorization == null) return
        break
      }
      // Written `prepared` before the signature: anything else ended unsent, or was never journaled (`1.0.0` calls).
      if (entry?.state !== 'prepared') return
      await sleep(JOURNAL_POLL_MS, signal)
    }
    emit({ type: 'buy:payment-sent', detail: { correlationId } })
    for (;;) {
      const used = await node.clients.publicClient
        .readContract({
          address: node.network.usdc.address,
          abi: usdcAbi,
          functionName: 'authorizationState',
          args: [authorization.from, authorization.nonce]
        })
        .catch(() => false)
      if (used) break
      await sleep(SETTLEMENT_POLL_MS, signal)
    }
    emit({ type: 'buy:payment-settled', detail: { correlationId } })
  }
  client.addEventListener('payment:signed', onSigned)
  return {
    stop() {
      controller.abort()
      client.removeEventListener('payment:signed', onSigned)
    }
  }
}

/** Resolves after `ms`, or rejects when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
