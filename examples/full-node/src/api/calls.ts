import type { Listing } from '@betar/marketplace-crdt'
import { decodeOutput, type FeedbackJob, purchaseMetadata } from '@betar/node/utils'
import type { CallJournalEntry, CallJournalState, CallJournalSummary } from '@betar/x402-libp2p'
import { usdcString } from './price.ts'

/**
 * A call as `POST /calls`, `GET /calls` and `GET /calls/{correlationId}` show it: the buyer's journal entry (it
 * survives restarts) with its feedback. Prices are shown twice: decimal USDC (`…Usdc`, `"0.25"`, the unit of the CLI
 * and of `maxPrice`) and atomic units (`…Atomic`, `"250000"`, what x402 signs).
 */
export interface CallView {
  correlationId: string
  /** `sent`: paid, outcome not known yet — resume with `POST /calls {correlationId}`. See `CallJournalState`. */
  state: CallJournalState
  capability: string | null
  /** Unix ms. */
  createdAt: number
  updatedAt: number
  listing: { id: string; seller: string; resource: string; name: string; agentId: string | null } | null
  /** The seller's peer id. */
  seller: string
  /** The price paid (or to pay) in decimal USDC, e.g. `"0.25"`. */
  amountUsdc: string | null
  /** The same in atomic USDC units, e.g. `"250000"`. */
  amountAtomic: string | null
  /** @deprecated the same as {@link CallView.amountAtomic} (atomic units), kept for older clients. */
  amount: string | null
  payTo: string | null
  /**
   * Whether the buyer is out of the amount: `true` once done (or when a seller took the payment without a result or
   * refund), `false` when refunded or never settled, `null` while the outcome is not known.
   */
  charged: boolean | null
  /** The agent's output (JSON-decoded, or text), once `done`; omitted from lists. */
  output?: unknown
  settlement: { transaction: string; network: string; payer: string | null; check: string | null } | null
  /** `amount` in atomic units, `amountUsdc` in decimal USDC. */
  refund: { transaction: string; amount: string; amountUsdc: string; check: string } | null
  error: { name: string; code?: number; message: string } | null
  feedback: {
    state: 'given' | 'pending' | 'none'
    transaction?: string
    feedbackURI?: string
    feedbackIndex?: string
    /** Why the last attempt failed (e.g. no ETH for gas); retried in the background. */
    lastError?: string
  }
  /** What went wrong after the result arrived (`POST /calls` only). */
  warnings?: string[]
}

/** The view of a journal entry: with its output when the entry has its result body (`get`, not `list`). */
export function callView(entry: CallJournalEntry | CallJournalSummary, feedback: FeedbackJob | undefined): CallView {
  const metadata = purchaseMetadata(entry.metadata)
  const listing = metadata?.listing
  const amount = entry.requirements?.amount
  const view: CallView = {
    correlationId: entry.correlationId,
    state: entry.state,
    capability: metadata?.capability ?? null,
    createdAt: entry.createdAt,
    updatedAt: entry.updatedAt,
    listing:
      listing != null
        ? {
            id: listing.id,
            seller: listing.seller,
            resource: listing.resource,
            name: listing.name,
            agentId: listing.erc8004?.agentId ?? null
          }
        : null,
    seller: entry.peer,
    amountUsdc: amount != null ? usdcString(amount) : null,
    amountAtomic: amount ?? null,
    amount: amount ?? null,
    payTo: entry.requirements?.payTo ?? null,
    charged: chargedOf(entry),
    settlement:
      entry.settlement != null
        ? {
            transaction: entry.settlement.transaction,
            network: entry.settlement.network,
            payer: entry.settlement.payer ?? null,
            check: entry.settlementCheck ?? null
          }
        : null,
    refund: entry.refund != null ? { ...entry.refund, amountUsdc: usdcString(entry.refund.amount) } : null,
    error: entry.error ?? null,
    feedback: feedbackView(feedback)
  }
  const result = entry.result
  if (entry.state === 'done' && result != null && 'body' in result)
    view.output = decodeOutput(Buffer.from(result.body, 'base64'))
  return view
}

function chargedOf(entry: CallJournalSummary): boolean | null {
  switch (entry.state) {
    case 'done':
      return true
    case 'refunded':
      return false
    case 'failed':
      return entry.charged === true
    case 'prepared':
      return false
    default:
      return null
  }
}

function feedbackView(job: FeedbackJob | undefined): CallView['feedback'] {
  if (job == null) return { state: 'none' }
  return {
    state: job.state,
    ...(job.result != null
      ? {
          transaction: job.result.txHash,
          feedbackURI: job.result.feedbackURI,
          feedbackIndex: job.result.feedbackIndex
        }
      : {}),
    ...(job.lastError != null && job.state === 'pending' ? { lastError: job.lastError } : {})
  }
}

/** A marketplace listing as the API shows it: the signed listing (atomic `price.amount`) plus `priceUsdc` (`"0.25"`). */
export function listingView(listing: Listing): Listing & { priceUsdc: string } {
  return { ...listing, priceUsdc: usdcString(listing.price.amount) }
}
