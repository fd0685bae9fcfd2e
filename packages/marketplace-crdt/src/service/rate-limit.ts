/** Keys tracked at once; beyond it the least recently used are forgotten (a forgotten key starts with a full burst). */
const MAX_KEYS = 10_000

/**
 * Token buckets per key (a peer id): a burst of `burst` tokens, refilled one per `refillMs`. Memory is bounded by
 * forgetting the least recently used keys.
 */
export class RateLimiter {
  private readonly burst: number
  private readonly refillMs: number
  private readonly now: () => number
  private readonly buckets = new Map<string, { tokens: number; at: number }>()

  constructor(burst: number, refillMs: number, now: () => number = Date.now) {
    this.burst = burst
    this.refillMs = refillMs
    this.now = now
  }

  /** Takes one token for `key`; false when its bucket is empty. */
  take(key: string): boolean {
    const bucket = this.current(key)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  /** Milliseconds until `key` has a token again (0 when it has one now). */
  retryAfter(key: string): number {
    const bucket = this.current(key)
    return bucket.tokens >= 1 ? 0 : Math.ceil((1 - bucket.tokens) * this.refillMs)
  }

  private current(key: string): { tokens: number; at: number } {
    const now = this.now()
    let bucket = this.buckets.get(key)
    if (bucket == null) {
      bucket = { tokens: this.burst, at: now }
      if (this.buckets.size >= MAX_KEYS) {
        const oldest = this.buckets.keys().next().value
        if (oldest != null) this.buckets.delete(oldest)
      }
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) / this.refillMs)
      bucket.at = now
      this.buckets.delete(key) // re-inserted below: the map stays in least-recently-used order
    }
    this.buckets.set(key, bucket)
    return bucket
  }
}
