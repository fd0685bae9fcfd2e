import type { Address } from 'viem'

interface Entry {
  payer: string
  amount: bigint
  /** Order of opening: entries opened earlier are ahead in the payer's line. */
  seq: number
  /** Unix ms: `validBefore` — the authorization cannot move money afterwards. */
  expiresAt: number
}

/** Options for a {@link PayerLedger}. */
export interface PayerLedgerInit {
  /** How long a payer whose settlement reverted is refused (ms). */
  throttleMs: number
  /** How long a payer's balance read stands in for a new read (ms), less what our settlements took since. @default 2000 */
  balanceTtlMs?: number
  /**
   * Most settlements of one payer broadcast and unconfirmed at once. A payer starts with one; each of its confirmed
   * settlements raises its allowance by one up to this; a revert resets it. @default 16
   */
  maxInFlight?: number
  /** Most payers tracked at once (throttles and open entries); the oldest throttles are forgotten first. */
  maxPayers?: number
}

/**
 * What the seller has promised to settle per payer, and which payers are throttled (spec §10.2, gas griefing).
 *
 * - Every verified authorization is opened here until its settlement is confirmed or void (or `validBefore` passes).
 *   A payer's next authorization is only accepted while its token balance covers every authorization ahead of it
 *   in line plus the new one, so concurrent authorizations from one payer never make the seller broadcast transfers
 *   that must revert for lack of balance.
 * - A payer has a bounded number of settlements in flight (broadcast, unconfirmed): one while it has no confirmed
 *   payment to this seller, one more per confirmed settlement, up to `maxInFlight`. A payer can make everything in
 *   flight revert at once (one transfer of its balance away, or spending its nonces first), so this bounds the
 *   reverted seller transactions it can cause by what it has paid the seller, plus one.
 * - A payer whose settlement reverted on-chain without paying is refused for `throttleMs` and loses its allowance.
 */
export class PayerLedger {
  private readonly entries = new Map<string, Entry>()
  /** The ids of each payer's open entries: a payer's line is read without walking every payer's. */
  private readonly byPayer = new Map<string, Set<string>>()
  /** When expired entries were last dropped (they are looked for at most once a second). */
  private pruned = 0
  private readonly throttled = new Map<string, number>()
  /** Last balance read per payer, less what our confirmed settlements took since. */
  private readonly balances = new Map<string, { value: bigint; at: number }>()
  /** Settlements in flight per payer (authorization ids). */
  private readonly inFlight = new Map<string, Set<string>>()
  /** Confirmed settlements per payer: raises its in-flight allowance. */
  private readonly credit = new Map<string, number>()
  /** Callers waiting for an in-flight slot, per payer. */
  private readonly waiters = new Map<string, Set<() => void>>()
  private readonly throttleMs: number
  private readonly balanceTtlMs: number
  private readonly maxInFlight: number
  private readonly maxPayers: number
  private seq = 0

  constructor(init: PayerLedgerInit) {
    this.throttleMs = init.throttleMs
    this.balanceTtlMs = init.balanceTtlMs ?? 2_000
    this.maxInFlight = init.maxInFlight ?? 16
    this.maxPayers = init.maxPayers ?? 100_000
  }

  /** Unix ms until which `payer` is refused, or `undefined`. */
  throttledUntil(payer: Address, now = Date.now()): number | undefined {
    const key = payer.toLowerCase()
    const until = this.throttled.get(key)
    if (until == null) return undefined
    if (until <= now) {
      this.throttled.delete(key)
      return undefined
    }
    return until
  }

  /** Refuses `payer` for the throttle window, from `now`, and takes its in-flight allowance back to one. */
  throttle(payer: Address, now = Date.now()): void {
    const key = payer.toLowerCase()
    this.credit.delete(key)
    this.throttled.delete(key)
    this.throttled.set(key, now + this.throttleMs)
    while (this.throttled.size > this.maxPayers) this.throttled.delete(this.throttled.keys().next().value as string)
  }

  /**
   * Opens (or re-opens after a restart) the authorization `id` of `payer` for `amount` (atomic units) until
   * `expiresAt` (unix ms), and returns what is ahead of it: the sum of the payer's still-open authorizations opened
   * before it.
   */
  open(id: string, payer: Address, amount: bigint, expiresAt: number, now = Date.now()): { ahead: bigint } {
    this.prune(now)
    const key = payer.toLowerCase()
    let entry = this.entries.get(id)
    if (entry == null) {
      if (this.entries.size >= this.maxPayers * 4) throw new RangeError('too many open settlements')
      entry = { payer: key, amount, seq: this.seq++, expiresAt }
      this.entries.set(id, entry)
      const ids = this.byPayer.get(key) ?? new Set<string>()
      ids.add(id)
      this.byPayer.set(key, ids)
    }
    let ahead = 0n
    for (const other of this.byPayer.get(key) ?? []) {
      const e = this.entries.get(other)
      if (e != null && e.seq < entry.seq && e.expiresAt > now) ahead += e.amount
    }
    return { ahead }
  }

  /**
   * The authorization's settlement is confirmed (`settled`: the payer's cached balance drops by its amount) or void:
   * it no longer counts against the payer's balance.
   */
  close(id: string, settled = false): void {
    const entry = this.entries.get(id)
    this.drop(id)
    if (entry == null || !settled) return
    const cached = this.balances.get(entry.payer)
    if (cached != null) cached.value -= entry.amount
    // A throttled payer earns no allowance back from settlements that were already in flight.
    if (this.throttled.has(entry.payer)) return
    const credit = (this.credit.get(entry.payer) ?? 0) + 1
    this.credit.delete(entry.payer)
    this.credit.set(entry.payer, credit)
    while (this.credit.size > this.maxPayers) this.credit.delete(this.credit.keys().next().value as string)
  }

  /** How many settlements `payer` may have in flight now. */
  allowance(payer: Address): number {
    return Math.min(this.maxInFlight, 1 + (this.credit.get(payer.toLowerCase()) ?? 0))
  }

  /**
   * Takes an in-flight slot of `payer` for `id` (a no-op if it holds one), waiting up to `deadline` (unix ms) for one to
   * free. Resolves `false` when none freed in time.
   */
  async acquire(payer: Address, id: string, deadline: number, signal?: AbortSignal): Promise<boolean> {
    const key = payer.toLowerCase()
    for (;;) {
      signal?.throwIfAborted()
      const held = this.inFlight.get(key) ?? new Set<string>()
      if (held.has(id)) return true
      if (held.size < this.allowance(payer)) {
        held.add(id)
        this.inFlight.set(key, held)
        return true
      }
      const wait = deadline - Date.now()
      if (wait <= 0) return false
      await new Promise<void>((resolve) => {
        const waiters = this.waiters.get(key) ?? new Set<() => void>()
        this.waiters.set(key, waiters)
        const done = (): void => {
          clearTimeout(timer)
          waiters.delete(done)
          if (waiters.size === 0) this.waiters.delete(key)
          resolve()
        }
        const timer = setTimeout(done, wait)
        waiters.add(done)
      })
    }
  }

  /** Holds a slot whatever the allowance: a settlement found in flight (e.g. after a restart). */
  hold(payer: Address, id: string): void {
    const key = payer.toLowerCase()
    const held = this.inFlight.get(key) ?? new Set<string>()
    held.add(id)
    this.inFlight.set(key, held)
  }

  /** The settlement `id` is no longer in flight: its slot goes to the next waiter. */
  release(payer: Address, id: string): void {
    const key = payer.toLowerCase()
    const held = this.inFlight.get(key)
    if (held == null || !held.delete(id)) return
    if (held.size === 0) this.inFlight.delete(key)
    for (const wake of [...(this.waiters.get(key) ?? [])]) wake()
  }

  /**
   * A recent balance of `payer` (atomic units) — the last read, less what our settlements took since — or `undefined`
   * when none is fresh. It can only overstate the balance if the payer moved funds itself, which costs the seller at
   * most one reverted transaction before the payer is throttled.
   */
  cachedBalance(payer: Address, now = Date.now(), ttlMs = this.balanceTtlMs): bigint | undefined {
    const cached = this.balances.get(payer.toLowerCase())
    return cached != null && now - cached.at <= ttlMs ? cached.value : undefined
  }

  /** Records a balance just read. */
  setBalance(payer: Address, value: bigint, now = Date.now()): void {
    const key = payer.toLowerCase()
    this.balances.delete(key)
    this.balances.set(key, { value, at: now })
    while (this.balances.size > this.maxPayers) this.balances.delete(this.balances.keys().next().value as string)
  }

  private prune(now: number): void {
    if (now - this.pruned < 1_000) return
    this.pruned = now
    for (const [id, e] of this.entries) if (e.expiresAt <= now) this.drop(id)
  }

  private drop(id: string): void {
    const entry = this.entries.get(id)
    if (entry == null) return
    this.entries.delete(id)
    const ids = this.byPayer.get(entry.payer)
    ids?.delete(id)
    if (ids?.size === 0) this.byPayer.delete(entry.payer)
  }
}
