import { InvalidLegacyListingError } from './errors.ts'
import type { GoAgentListing } from './wire.ts'

/**
 * A listing a Go Betar node announced. **Unverified**: Go listings are not signed, so nothing in it but `seller` is
 * known to be true — `seller` is the peer that signed the GossipSub message or answered the `info` stream, never the
 * JSON's own `sellerId` (a listing whose `sellerId` differs is refused). Kept apart from signed listings: it never
 * enters the marketplace document and never changes or removes a signed listing.
 */
export interface LegacyListing {
  /** Always true: shown with this label, bought only when a buyer opts in. */
  readonly legacy: true
  /** Always false: no signature covers the fields. */
  readonly verified: false
  /** `<seller>/<agentId>`, unique per seller like a signed listing's key. */
  readonly key: string
  /** Go's listing id (`<peerId>/<did>` from Go's SDK, the bare `did:key` from its CLI). */
  readonly agentId: string
  /** What a Go buyer sends as the x402 `resource`: `agentId` without the `<seller>/` prefix, as Go strips it. */
  readonly resource: string
  readonly name: string
  /** USDC per call, as Go's `float64`. */
  readonly price: number
  /** The price in USDC atomic units (6 decimals), truncated as a Go seller computes it (`int64(price * 1e6)`). */
  readonly priceAtomic: bigint
  /** IPFS CID of Go's registration JSON, unverified. */
  readonly metadata: string
  /** The authenticated seller peer id. */
  readonly seller: string
  readonly multiaddrs: readonly string[]
  readonly protocols: readonly string[]
  /** The seller's claimed ERC-8004 agent id, unverified. */
  readonly tokenId?: string
  /** The seller's claimed Unix seconds of the listing. */
  readonly timestamp: number
  /** How it arrived. */
  readonly source: 'announcement' | 'info'
  /** Unix ms: when this node last heard it, and when it is dropped unless heard again. */
  readonly receivedAt: number
  readonly expiresAt: number
}

export interface LegacyStoreLimits {
  maxPerPeer: number
  maxTotal: number
  ttlMs: number
}

/** The fields of a Go listing or announcement (`id` in one, `agentId` in the other). */
export type GoListingFields = Omit<GoAgentListing, 'id'> & { id?: string; agentId?: string }

/** What `put` did. */
export type PutOutcome = 'added' | 'updated' | 'refreshed'

/** Legacy listings held by this node, bounded per seller and in all, each expiring unless heard again. */
export class LegacyStore {
  private readonly limits: LegacyStoreLimits
  private readonly now: () => number
  private readonly byKey = new Map<string, LegacyListing>()
  private readonly perSeller = new Map<string, number>()

  constructor(limits: LegacyStoreLimits, now: () => number = Date.now) {
    this.limits = limits
    this.now = now
  }

  get size(): number {
    return this.byKey.size
  }

  /**
   * Stores a Go listing heard from `seller` (already checked to be its `sellerId`).
   *
   * @throws InvalidLegacyListingError `stale` when older than the held one, `quota` when the seller or the node is full
   */
  put(
    seller: string,
    go: GoListingFields,
    source: LegacyListing['source']
  ): { listing: LegacyListing; outcome: PutOutcome } {
    const agentId = go.agentId ?? go.id ?? ''
    const key = `${seller}/${agentId}`
    const held = this.live(key)
    if (held != null && go.timestamp < held.timestamp) {
      throw new InvalidLegacyListingError('stale', `${key}: timestamp ${go.timestamp} is older than ${held.timestamp}`)
    }
    if (held == null) {
      if ((this.perSeller.get(seller) ?? 0) >= this.limits.maxPerPeer) {
        throw new InvalidLegacyListingError('quota', `${seller} already has ${this.limits.maxPerPeer} legacy listings`)
      }
      if (this.byKey.size >= this.limits.maxTotal) {
        this.collect()
        if (this.byKey.size >= this.limits.maxTotal) {
          throw new InvalidLegacyListingError('quota', `this node holds ${this.limits.maxTotal} legacy listings`)
        }
      }
    }
    const now = this.now()
    const listing: LegacyListing = {
      legacy: true,
      verified: false,
      key,
      agentId,
      resource: agentId.startsWith(`${seller}/`) ? agentId.slice(seller.length + 1) : agentId,
      name: go.name,
      price: go.price,
      priceAtomic: BigInt(Math.trunc(go.price * 1e6)),
      metadata: go.metadata,
      seller,
      multiaddrs: go.addrs,
      protocols: go.protocols,
      ...(go.tokenId !== '' ? { tokenId: go.tokenId } : {}),
      timestamp: go.timestamp,
      source,
      receivedAt: now,
      expiresAt: now + this.limits.ttlMs
    }
    if (held == null) this.perSeller.set(seller, (this.perSeller.get(seller) ?? 0) + 1)
    this.byKey.set(key, listing)
    const outcome: PutOutcome =
      held == null ? 'added' : held.timestamp === go.timestamp && sameFields(held, listing) ? 'refreshed' : 'updated'
    return { listing, outcome }
  }

  /** Removes one of `seller`'s listings (a Go `delist` from that seller); returns it when it was held. */
  remove(seller: string, agentId: string): LegacyListing | undefined {
    const key = `${seller}/${agentId}`
    const held = this.byKey.get(key)
    if (held == null) return undefined
    this.delete(held)
    return held
  }

  /** Removes every legacy listing of `seller`; returns them. */
  removeSeller(seller: string): LegacyListing[] {
    if (!this.perSeller.has(seller)) return []
    const removed = [...this.byKey.values()].filter((l) => l.seller === seller)
    for (const listing of removed) this.delete(listing)
    return removed
  }

  get(key: string): LegacyListing | undefined {
    return this.live(key)
  }

  /** Live listings, in no particular order. */
  list(): LegacyListing[] {
    const now = this.now()
    return [...this.byKey.values()].filter((l) => l.expiresAt > now)
  }

  /** Drops expired listings; returns them. */
  collect(): LegacyListing[] {
    const now = this.now()
    const expired: LegacyListing[] = []
    for (const listing of this.byKey.values()) {
      if (listing.expiresAt <= now) expired.push(listing)
    }
    for (const listing of expired) this.delete(listing)
    return expired
  }

  clear(): void {
    this.byKey.clear()
    this.perSeller.clear()
  }

  private live(key: string): LegacyListing | undefined {
    const listing = this.byKey.get(key)
    if (listing == null) return undefined
    if (listing.expiresAt > this.now()) return listing
    this.delete(listing)
    return undefined
  }

  private delete(listing: LegacyListing): void {
    this.byKey.delete(listing.key)
    const n = (this.perSeller.get(listing.seller) ?? 1) - 1
    if (n <= 0) this.perSeller.delete(listing.seller)
    else this.perSeller.set(listing.seller, n)
  }
}

function sameFields(a: LegacyListing, b: LegacyListing): boolean {
  return (
    a.name === b.name &&
    a.price === b.price &&
    a.metadata === b.metadata &&
    a.tokenId === b.tokenId &&
    a.multiaddrs.join('\n') === b.multiaddrs.join('\n') &&
    a.protocols.join('\n') === b.protocols.join('\n')
  )
}
