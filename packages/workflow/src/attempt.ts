import type { CallJournal, CallResult, ExecutionFailedError, X402Client } from '@betar/x402-libp2p'
import { multiaddr } from '@multiformats/multiaddr'
import { type Address, type Hash, type Hex, type PublicClient, parseAbiItem } from 'viem'
import type { AttemptRecord } from './types.ts'

/** How an attempt ended, for the step deciding what next. */
export type AttemptOutcome =
  | { kind: 'done'; call: CallResult }
  /** Failed; nothing is owed for it (never paid, or refunded): the step may try the next seller. */
  | { kind: 'next-seller' }
  /** Failed before anything was paid, for a reason that may pass (unreachable, busy): the same seller may be tried again. */
  | { kind: 'retry' }
  /** Failed in a way another seller would not fix (the node's own budget, a correlation id clash). */
  | { kind: 'fatal' }
  /** Paid or maybe paid, and no outcome could be read: re-asked (never paid again) when the workflow is resumed. */
  | { kind: 'unresolved' }
  | { kind: 'cancelled' }

export interface AttemptContext {
  client: X402Client
  journal: CallJournal
  /** The workflow's cancel signal. */
  signal: AbortSignal
  timeoutMs: number
  /** Re-asks of a call whose outcome could not be read. */
  reasks: number
  reaskDelayMs: number
  /** Updates an attempt's seller addresses from its newest listing (a seller that restarted may listen elsewhere). */
  refresh?: ((attempt: AttemptRecord) => boolean) | undefined
  /** Connects to a seller (the x402 client re-asks an open call at the addresses it signed for: a live connection wins). */
  dial?: ((addresses: string[], options: { signal: AbortSignal }) => Promise<void>) | undefined
  /** Finds the settlement transaction of a refunded call (the seller reports only the refund's). */
  publicClient?: Pick<PublicClient, 'getLogs' | 'getTransactionReceipt'> | undefined
}

const AUTHORIZATION_USED = parseAbiItem('event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce)')

/**
 * The transaction that used a call's EIP-3009 authorization (its settlement), looked up in the blocks before its
 * refund: a refunded call's receipt entry then names both transfers.
 */
async function findSettlement(
  ctx: AttemptContext,
  asset: Address,
  payer: Address,
  nonce: Hex,
  refundTx: Hash
): Promise<Hash | undefined> {
  if (ctx.publicClient == null) return undefined
  try {
    const refund = await ctx.publicClient.getTransactionReceipt({ hash: refundTx })
    const logs = await ctx.publicClient.getLogs({
      address: asset,
      event: AUTHORIZATION_USED,
      args: { authorizer: payer, nonce },
      fromBlock: refund.blockNumber > 10_000n ? refund.blockNumber - 10_000n : 0n,
      toBlock: refund.blockNumber
    })
    return logs[0]?.transactionHash ?? undefined
  } catch {
    return undefined
  }
}

const NOT_PAID_FATAL = new Set(['BudgetExceededError', 'CallConflictError'])

/**
 * Runs (or, when `attempt` was sent before a restart, re-asks) one paid call and records its outcome on `attempt`. The
 * call always carries the attempt's correlation id: the x402 client answers a journaled id from its journal or re-sends
 * the payment it signed for it, so nothing is paid twice for one attempt.
 */
export async function runAttempt(ctx: AttemptContext, attempt: AttemptRecord): Promise<AttemptOutcome> {
  const body = Buffer.from(attempt.body, 'base64')
  for (let ask = 0; ; ask++) {
    if (ctx.refresh?.(attempt) === true) {
      await moveJournaledCall(ctx, attempt)
      await ctx
        .dial?.(attempt.multiaddrs, { signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(10_000)]) })
        .catch(() => {})
    }
    try {
      const call = await ctx.client.call(
        attempt.multiaddrs.map((a) => multiaddr(a)),
        attempt.resource,
        body,
        {
          maxAmount: BigInt(attempt.maxAmount),
          payTo: attempt.payTo as Address,
          correlationId: attempt.correlationId,
          contentType: 'application/json',
          metadata: { workflowStep: attempt.listing },
          signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.timeoutMs)])
        }
      )
      return recordResult(attempt, call)
    } catch (err) {
      const name = (err as Error).name
      if (name === 'ExecutionFailedError') return recordExecutionFailed(ctx, attempt, err as ExecutionFailedError)
      if (name === 'PaymentTakenError') {
        // The seller took the money and claims failure: counted as spent, and the step moves on.
        attempt.state = 'charged'
        attempt.amount = attempt.maxAmount
        return end(attempt, err, { kind: 'next-seller' })
      }
      // Anything else: the journal says whether a payment was signed for this id.
      const state = await paidState(ctx, attempt)
      if (state === 'not-paid') {
        attempt.state = 'not-paid'
        if (ctx.signal.aborted) return end(attempt, err, { kind: 'cancelled' })
        if (NOT_PAID_FATAL.has(name)) return end(attempt, err, { kind: 'fatal' })
        const retryable = name !== 'X402Error' || (err as { retryable?: boolean }).retryable === true
        const policy = name === 'PaymentNotApprovedError' || name === 'InvalidResourceError'
        return end(attempt, err, { kind: retryable && !policy ? 'retry' : 'next-seller' })
      }
      if (state === 'charged') {
        attempt.state = 'charged'
        attempt.amount = attempt.maxAmount
        return end(attempt, err, { kind: 'next-seller' })
      }
      // Signed and sent, outcome unknown (or stored as done/refunded: the next call answers from the journal).
      if (ctx.signal.aborted) {
        attempt.state = 'interrupted'
        return end(attempt, err, { kind: 'cancelled' })
      }
      if (ask >= ctx.reasks) {
        attempt.state = 'interrupted'
        return end(attempt, err, { kind: 'unresolved' })
      }
      await sleep(ctx.reaskDelayMs * 2 ** ask, ctx.signal)
    }
  }
}

/**
 * The x402 client re-asks a journaled call at the addresses it stored: a seller that restarted elsewhere is re-asked at
 * the attempt's (refreshed) addresses, as `resumePurchase` does in the full node.
 */
async function moveJournaledCall(ctx: AttemptContext, attempt: AttemptRecord): Promise<void> {
  const entry = await ctx.journal.get(attempt.correlationId).catch(() => undefined)
  if (entry == null || entry.state !== 'sent') return
  if (entry.addresses.join(' ') === attempt.multiaddrs.join(' ')) return
  await ctx.journal.put({ ...entry, addresses: attempt.multiaddrs, updatedAt: Date.now() })
}

/** What the journal says about an attempt's payment. */
async function paidState(ctx: AttemptContext, attempt: AttemptRecord): Promise<'not-paid' | 'charged' | 'open'> {
  const entry = await ctx.journal.get(attempt.correlationId).catch(() => undefined)
  if (entry?.payment == null) return 'not-paid'
  if (entry.state === 'failed') return entry.charged === true ? 'charged' : 'not-paid'
  return 'open'
}

function recordResult(attempt: AttemptRecord, call: CallResult): AttemptOutcome {
  attempt.state = 'paid'
  // Only a settlement found on-chain (or the seller's report without a chain reader) counts as paid.
  const settled = call.settlement?.success === true
  attempt.amount = settled ? call.amount.toString() : '0'
  if (settled) {
    attempt.settlementTx = call.settlement!.transaction
    if (call.settlement!.payer != null) attempt.payer = call.settlement!.payer
  } else if (call.amount > 0n) {
    attempt.error = `settlement ${call.settlementCheck ?? 'unchecked'}: no transfer found for the result`
  }
  attempt.endedAt = Date.now()
  return { kind: 'done', call }
}

async function recordExecutionFailed(
  ctx: AttemptContext,
  attempt: AttemptRecord,
  err: ExecutionFailedError
): Promise<AttemptOutcome> {
  if (!err.charged) {
    attempt.state = 'not-paid'
    return end(attempt, err, { kind: 'next-seller' })
  }
  const entry = await ctx.journal.get(attempt.correlationId).catch(() => undefined)
  const paid = entry?.requirements?.amount ?? attempt.maxAmount
  attempt.amount = paid
  if (entry?.settlement?.transaction != null) attempt.settlementTx = entry.settlement.transaction
  if (entry?.settlement?.payer != null) attempt.payer = entry.settlement.payer
  const authorization = (entry?.payment?.payload as { authorization?: { from?: Address; nonce?: Hex } } | undefined)
    ?.authorization
  if (authorization?.from != null) attempt.payer ??= authorization.from
  if (attempt.settlementTx == null && err.refund != null && authorization?.from != null && entry?.nonce != null) {
    const asset = entry.requirements?.asset as Address | undefined
    const tx =
      asset != null
        ? await findSettlement(ctx, asset, authorization.from, entry.nonce, err.refund.transaction as Hash)
        : undefined
    if (tx != null) attempt.settlementTx = tx
  }
  if (err.refund != null) {
    attempt.refund = {
      transaction: err.refund.transaction,
      amount: err.refund.amount.toString(),
      check: err.refund.check
    }
    // A refund the buyer's chain reader could not find yet stays counted as spent.
    attempt.state = err.refund.check === 'unconfirmed' ? 'charged' : 'refunded'
  } else {
    attempt.state = 'charged'
  }
  return end(attempt, err, { kind: 'next-seller' })
}

function end(attempt: AttemptRecord, err: unknown, outcome: AttemptOutcome): AttemptOutcome {
  attempt.error = `${(err as Error).name}: ${(err as Error).message}`.slice(0, 500)
  attempt.endedAt = Date.now()
  return outcome
}

/** The net amount an attempt cost (settled minus a counted refund). */
export function attemptCost(attempt: AttemptRecord): bigint {
  const paid = BigInt(attempt.amount ?? '0')
  return attempt.state === 'refunded' ? paid - BigInt(attempt.refund?.amount ?? '0') : paid
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
