import type { Listing } from '@betar/marketplace-crdt'

/** How long a seller that could not be dialled is tried after the others (ms). */
const STALE_FOR_MS = 10 * 60_000
const MAX_TRACKED = 10_000

/**
 * Which sellers this node recently failed to reach. A listing outlives its seller's process (until it expires), so a
 * buyer may hold one whose addresses are dead: such sellers are marked stale and tried after live ones, and a
 * successful dial clears the mark.
 */
export class SellerReachability {
  readonly #unreachableUntil = new Map<string, number>()
  readonly #now: () => number

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  markUnreachable(peer: string): void {
    if (this.#unreachableUntil.size >= MAX_TRACKED) this.#prune()
    this.#unreachableUntil.set(peer, this.#now() + STALE_FOR_MS)
  }

  markReachable(peer: string): void {
    this.#unreachableUntil.delete(peer)
  }

  /** Whether `peer` failed to answer a dial in the last 10 minutes. */
  isStale(peer: string): boolean {
    const until = this.#unreachableUntil.get(peer)
    if (until == null) return false
    if (until > this.#now()) return true
    this.#unreachableUntil.delete(peer)
    return false
  }

  /** `listings` in the order to try them: stale sellers last, each group keeping the given order (cheapest first). */
  order(listings: readonly Listing[]): Listing[] {
    const rank = (l: Listing) => (this.isStale(l.seller) ? 1 : 0)
    return listings
      .map((listing, i) => ({ listing, i, rank: rank(listing) }))
      .sort((a, b) => a.rank - b.rank || a.i - b.i)
      .map((x) => x.listing)
  }

  #prune(): void {
    const now = this.#now()
    for (const [peer, until] of this.#unreachableUntil) if (until <= now) this.#unreachableUntil.delete(peer)
    if (this.#unreachableUntil.size >= MAX_TRACKED) this.#unreachableUntil.clear()
  }
}
