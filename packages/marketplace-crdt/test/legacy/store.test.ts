import { describe, expect, it } from 'vitest'
import { InvalidLegacyListingError } from '../../src/legacy/index.ts'
import { LegacyStore } from '../../src/legacy/store.ts'

const go = (agentId: string, extra: Record<string, unknown> = {}) => ({
  agentId,
  name: agentId,
  price: 0.00397,
  metadata: '',
  sellerId: 'S',
  addrs: [],
  protocols: [],
  timestamp: 10,
  tokenId: '',
  agentApi: '',
  ...extra
})

function reasonOf(f: () => unknown): string {
  try {
    f()
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidLegacyListingError)
    return (err as InvalidLegacyListingError).reason
  }
  return 'ok'
}

describe('LegacyStore', () => {
  it('labels listings legacy and unverified, keyed by the authenticated seller', () => {
    const store = new LegacyStore({ maxPerPeer: 4, maxTotal: 10, ttlMs: 1_000 }, () => 0)
    const { listing, outcome } = store.put('P', go('P/did:key:z1'), 'announcement')
    expect(outcome).toBe('added')
    expect(listing).toMatchObject({
      legacy: true,
      verified: false,
      key: 'P/P/did:key:z1',
      seller: 'P',
      resource: 'did:key:z1'
    })
    // A Go seller charges int64(price * 1e6), truncated: 0.00397 × 1e6 is 3969.9999999999995 in float64.
    expect(listing.priceAtomic).toBe(3_969n)
    expect(store.put('P', go('P/did:key:z1'), 'announcement').outcome).toBe('refreshed')
    expect(store.put('P', go('P/did:key:z1', { timestamp: 11, name: 'new' }), 'announcement').outcome).toBe('updated')
  })

  it('ignores a listing older than the one held (no flapping from stale copies)', () => {
    const store = new LegacyStore({ maxPerPeer: 4, maxTotal: 10, ttlMs: 1_000 }, () => 0)
    store.put('P', go('a', { timestamp: 20 }), 'announcement')
    expect(reasonOf(() => store.put('P', go('a', { timestamp: 19, name: 'old' }), 'info'))).toBe('stale')
    expect(store.get('P/a')?.name).toBe('a')
  })

  it('bounds listings per seller and in all', () => {
    const store = new LegacyStore({ maxPerPeer: 2, maxTotal: 3, ttlMs: 1_000 }, () => 0)
    store.put('P', go('a'), 'announcement')
    store.put('P', go('b'), 'announcement')
    expect(reasonOf(() => store.put('P', go('c'), 'announcement'))).toBe('quota')
    store.put('P', go('a', { timestamp: 11 }), 'announcement') // an update is not a new one
    store.put('Q', go('a'), 'announcement')
    expect(reasonOf(() => store.put('R', go('a'), 'announcement'))).toBe('quota')
    store.remove('P', 'a')
    expect(store.put('R', go('a'), 'announcement').outcome).toBe('added')
    expect(store.size).toBe(3)
  })

  it('expires listings not heard again within the TTL', () => {
    let now = 0
    const store = new LegacyStore({ maxPerPeer: 2, maxTotal: 2, ttlMs: 1_000 }, () => now)
    store.put('P', go('a'), 'announcement')
    now = 500
    store.put('P', go('b'), 'announcement')
    now = 1_000
    expect(store.list().map((l) => l.agentId)).toEqual(['b'])
    expect(store.get('P/a')).toBeUndefined()
    // An expired listing frees the seller's and the node's quota.
    expect(store.put('P', go('c'), 'announcement').outcome).toBe('added')
    now = 1_600
    expect(store.collect().map((l) => l.agentId)).toEqual(['b'])
    expect(store.list().map((l) => l.agentId)).toEqual(['c'])
  })
})
