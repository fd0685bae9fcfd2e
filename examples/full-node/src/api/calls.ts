import type { Purchase } from '../buyer.ts'

/** What `POST /calls` returns and `GET /calls/:correlationId` keeps. */
export interface CallRecord {
  correlationId: string
  capability: string
  /** When the call completed (ms since epoch). */
  completedAt: number
  listing: { id: string; seller: string; resource: string; name: string; agentId: string | null }
  output: unknown
  /** Paid, in atomic USDC units (decimal string). */
  amount: string
  settlement: { transaction: string; network: string; payer: string | null }
  feedback: { transaction: string; feedbackURI: string; feedbackIndex: string }
}

/** The JSON record of a completed purchase. */
export function toCallRecord(capability: string, purchase: Purchase, now = Date.now()): CallRecord {
  const { listing, call, feedback } = purchase
  return {
    correlationId: call.correlationId,
    capability,
    completedAt: now,
    listing: {
      id: listing.id,
      seller: listing.seller,
      resource: listing.resource,
      name: listing.name,
      agentId: listing.erc8004?.agentId ?? null
    },
    output: purchase.output,
    amount: call.amount.toString(),
    settlement: {
      transaction: call.settlement?.transaction ?? '',
      network: call.settlement?.network ?? '',
      payer: call.settlement?.payer ?? null
    },
    feedback: {
      transaction: feedback.txHash,
      feedbackURI: feedback.feedbackURI,
      feedbackIndex: feedback.feedbackIndex.toString()
    }
  }
}

/** A bounded, least-recently-used map of call records by correlation id. */
export class CallStore {
  readonly #max: number
  readonly #records = new Map<string, CallRecord>()

  constructor(max = 1000) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('CallStore size must be a positive integer')
    this.#max = max
  }

  get size(): number {
    return this.#records.size
  }

  add(record: CallRecord): void {
    this.#records.delete(record.correlationId)
    this.#records.set(record.correlationId, record)
    while (this.#records.size > this.#max) {
      const oldest = this.#records.keys().next()
      if (oldest.done === true) break
      this.#records.delete(oldest.value)
    }
  }

  get(correlationId: string): CallRecord | undefined {
    const record = this.#records.get(correlationId)
    if (record != null) {
      this.#records.delete(correlationId)
      this.#records.set(correlationId, record)
    }
    return record
  }
}
