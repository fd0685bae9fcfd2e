import { createHash } from 'node:crypto'
import type { PaymentEventDetail, X402Server } from '@betar/x402-libp2p'
import type { AbortOptions } from '@libp2p/interface'
import { TypedEventEmitter } from '@libp2p/interface'
import { type Datastore, Key } from 'interface-datastore'

const PREFIX = '/betar/sales'
/** Paid calls whose outcome is recorded; the verification time is kept this long for the duration (ms). */
const STARTED_TTL_MS = 60 * 60_000
const MAX_STARTED = 10_000

/**
 * One paid call this node served as a seller, once its outcome is known. Amounts are atomic units of the asset
 * (USDC: 6 decimals) as decimal strings.
 */
export interface SaleRecord {
  /** `sold`: paid and answered; `refunded`: paid, the handler failed, the payment went back; `failed`: the handler
   * failed before anything was settled (`after`), or the settlement was proven void — nothing moved either way. */
  outcome: 'sold' | 'refunded' | 'failed'
  /** The x402 resource (the agent's name). */
  agent: string
  /** The buyer's libp2p peer id. */
  buyer: string
  /** The buyer's paying address. */
  payer: string
  correlationId: string
  /** Price of the call, atomic units. */
  amount: string
  asset: string
  network: string
  /** The settlement transaction (`sold`, `refunded`). */
  transaction?: string
  /** The refund transaction (`refunded`). */
  refundTransaction?: string
  /** From verification to outcome, when this process saw both (ms). */
  durationMs?: number
  /** Why it failed (`error code: message`), for `refunded` and `failed`. */
  reason?: string
  /** Unix ms when the outcome was recorded. */
  at: number
}

/** Earnings of one agent over a period, atomic units. */
export interface AgentEarnings {
  agent: string
  sold: number
  refunded: number
  failed: number
  /** Σ amount of `sold` calls. */
  earned: string
}

/** Filters of {@link SalesLedger.list} and {@link SalesLedger.earnings}. */
export interface SalesQuery extends AbortOptions {
  agent?: string
  outcome?: SaleRecord['outcome']
  /** Unix ms, inclusive. */
  since?: number
  /** Unix ms, exclusive. */
  until?: number
}

export interface SalesLedgerEvents {
  /** A paid call's outcome was recorded. */
  sale: CustomEvent<SaleRecord>
}

/**
 * The seller's record of what it sold: every paid call's outcome (sold, refunded or failed) from the x402 server's
 * events, persisted in the node's datastore (time-ordered keys), with per-agent earnings over any period. Emits `sale`
 * for each outcome, so an operator's log or dashboard sees them as they happen.
 */
export class SalesLedger extends TypedEventEmitter<SalesLedgerEvents> {
  readonly #datastore: Datastore
  readonly #started = new Map<string, number>()
  #x402: X402Server | undefined
  #listeners: Array<[string, (e: CustomEvent<PaymentEventDetail>) => void]> = []
  #writes: Promise<unknown> = Promise.resolve()

  constructor(datastore: Datastore) {
    super()
    this.#datastore = datastore
  }

  /** Records the outcomes of `x402`'s paid calls from now on. */
  attach(x402: X402Server): void {
    this.detach()
    this.#x402 = x402
    const on = (type: string, fn: (d: PaymentEventDetail) => void) => {
      const listener = (e: CustomEvent<PaymentEventDetail>) => fn(e.detail)
      x402.addEventListener(type as 'payment:verified', listener)
      this.#listeners.push([type, listener])
    }
    on('payment:verified', (d) => {
      if (this.#started.size >= MAX_STARTED) this.#prune()
      this.#started.set(callKey(d), Date.now())
    })
    on('call:completed', (d) => this.#record(d, 'sold'))
    on('payment:refunded', (d) => this.#record(d, 'refunded'))
    on('payment:failed', (d) => {
      // Only calls that were paid for (verified and reserved): a refused payment is no sale.
      if (d.error?.codeName === 'EXECUTION_FAILED' || d.error?.codeName === 'SETTLEMENT_FAILED') {
        this.#record(d, 'failed')
      }
    })
  }

  detach(): void {
    for (const [type, listener] of this.#listeners)
      this.#x402?.removeEventListener(type as 'payment:verified', listener)
    this.#listeners = []
    this.#x402 = undefined
  }

  /** Waits for the outcomes recorded so far to be on disk. */
  async flush(): Promise<void> {
    await this.#writes
  }

  /** Recorded sales, newest first. */
  async list(query: SalesQuery & { limit?: number } = {}): Promise<SaleRecord[]> {
    const out: SaleRecord[] = []
    const limit = query.limit ?? 100
    for await (const sale of this.#scan(query)) {
      out.push(sale)
      if (out.length >= limit) break
    }
    return out
  }

  /** Per-agent counts and earnings over the period (all agents with at least one recorded outcome). */
  async earnings(query: Omit<SalesQuery, 'outcome'> = {}): Promise<AgentEarnings[]> {
    const byAgent = new Map<string, { sold: number; refunded: number; failed: number; earned: bigint }>()
    for await (const sale of this.#scan(query)) {
      const e = byAgent.get(sale.agent) ?? { sold: 0, refunded: 0, failed: 0, earned: 0n }
      e[sale.outcome]++
      if (sale.outcome === 'sold') e.earned += BigInt(sale.amount)
      byAgent.set(sale.agent, e)
    }
    return [...byAgent.entries()]
      .map(([agent, e]) => ({ agent, ...e, earned: e.earned.toString() }))
      .sort((a, b) => a.agent.localeCompare(b.agent))
  }

  async *#scan(query: SalesQuery): AsyncGenerator<SaleRecord> {
    const options = query.signal != null ? { signal: query.signal } : {}
    await this.#writes
    const entries = this.#datastore.query(
      {
        prefix: PREFIX,
        orders: [(a, b) => (a.key.toString() < b.key.toString() ? 1 : -1)],
        filters: [
          ({ key }) => {
            const at = timeOf(key)
            return (query.since == null || at >= query.since) && (query.until == null || at < query.until)
          }
        ]
      },
      options
    )
    for await (const { value } of entries) {
      let sale: SaleRecord
      try {
        sale = JSON.parse(new TextDecoder().decode(value)) as SaleRecord
      } catch {
        continue // an unreadable record is skipped, not fatal to the list
      }
      if (query.agent != null && sale.agent !== query.agent) continue
      if (query.outcome != null && sale.outcome !== query.outcome) continue
      yield sale
    }
  }

  #record(d: PaymentEventDetail, outcome: SaleRecord['outcome']): void {
    const key = callKey(d)
    const started = this.#started.get(key)
    this.#started.delete(key)
    const at = Date.now()
    const sale: SaleRecord = {
      outcome,
      agent: d.resource,
      buyer: d.peer.toString(),
      payer: d.payer,
      correlationId: d.correlationId,
      amount: d.requirements.amount,
      asset: d.requirements.asset,
      network: d.requirements.network,
      ...(d.settlement?.transaction != null && d.settlement.transaction !== ''
        ? { transaction: d.settlement.transaction }
        : {}),
      ...(outcome === 'refunded' && d.transaction != null ? { refundTransaction: d.transaction } : {}),
      ...(started != null ? { durationMs: at - started } : {}),
      ...(d.error != null ? { reason: `${d.error.codeName}: ${d.error.message}` } : {}),
      at
    }
    if (outcome === 'refunded' && sale.reason == null) sale.reason = 'EXECUTION_FAILED: the handler failed'
    // Time-ordered keys (newest first is a reverse scan); the call's hash keeps same-millisecond outcomes apart.
    const id = createHash('sha256').update(key).digest('hex').slice(0, 24)
    const dsKey = new Key(`${PREFIX}/${at.toString().padStart(15, '0')}-${id}`)
    this.#writes = this.#writes
      .then(() => this.#datastore.put(dsKey, new TextEncoder().encode(JSON.stringify(sale))))
      .catch(() => {})
    this.safeDispatchEvent('sale', { detail: sale })
  }

  #prune(): void {
    const cutoff = Date.now() - STARTED_TTL_MS
    for (const [key, at] of this.#started) if (at < cutoff) this.#started.delete(key)
    // Still full: the oldest half goes (their durations will be missing, nothing else).
    if (this.#started.size >= MAX_STARTED) {
      for (const key of [...this.#started.keys()].slice(0, MAX_STARTED / 2)) this.#started.delete(key)
    }
  }
}

function callKey(d: PaymentEventDetail): string {
  return `${d.peer.toString()}/${d.correlationId}`
}

function timeOf(key: Key): number {
  return Number(key.baseNamespace().split('-')[0])
}
