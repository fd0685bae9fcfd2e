import { BudgetExceededError } from '../errors.ts'

/** A client-wide spending cap, optionally per rolling window. */
export interface BudgetInit {
  /** Most the client may spend, in atomic token units. */
  limit: bigint
  /** Rolling window; the whole lifetime of the client when absent. */
  windowMs?: number
}

interface Entry {
  amount: bigint
  at: number
}

/**
 * Tracks what a client has committed to spend. Amounts are reserved before signing, and released only when the
 * seller refused the payment before settlement (so nothing moved).
 */
export class SpendingBudget {
  private readonly limit: bigint
  private readonly windowMs: number | undefined
  private entries: Entry[] = []

  constructor(init: BudgetInit) {
    if (init.limit < 0n) throw new RangeError('budget limit must be ≥ 0')
    this.limit = init.limit
    this.windowMs = init.windowMs
  }

  /** Committed spending in the current window. */
  spent(now = Date.now()): bigint {
    if (this.windowMs != null) {
      const since = now - this.windowMs
      this.entries = this.entries.filter((e) => e.at > since)
    }
    return this.entries.reduce((sum, e) => sum + e.amount, 0n)
  }

  /** What is left in the current window. */
  remaining(now = Date.now()): bigint {
    const left = this.limit - this.spent(now)
    return left > 0n ? left : 0n
  }

  /** Reserves `amount`; returns a function that releases it. Throws {@link BudgetExceededError}. */
  reserve(amount: bigint, now = Date.now()): () => void {
    if (amount > this.remaining(now)) {
      throw new BudgetExceededError(`payment of ${amount} exceeds the remaining budget of ${this.remaining(now)}`)
    }
    const entry = { amount, at: now }
    this.entries.push(entry)
    return () => {
      this.entries = this.entries.filter((e) => e !== entry)
    }
  }
}
