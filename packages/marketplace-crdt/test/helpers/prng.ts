/**
 * mulberry32: a tiny, fast, seedable 32-bit PRNG (public domain, Tommy Ettinger). Good enough to drive randomized
 * tests reproducibly; not for anything cryptographic.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Helpers over a seeded {@link mulberry32} stream: every draw is reproducible from the seed. */
export class Prng {
  readonly seed: number
  private readonly next: () => number

  constructor(seed: number) {
    this.seed = seed
    this.next = mulberry32(seed)
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next()
  }

  /** An integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  /** True with probability `p`. */
  bool(p = 0.5): boolean {
    return this.next() < p
  }

  /** A uniformly chosen element; throws on an empty array (a test bug). */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty array')
    return items[this.int(0, items.length - 1)] as T
  }

  /** Chooses an action by relative weight. */
  weighted<T extends string>(weights: Readonly<Record<T, number>>): T {
    const entries = Object.entries(weights) as Array<[T, number]>
    const total = entries.reduce((sum, [, w]) => sum + w, 0)
    let r = this.next() * total
    for (const [value, w] of entries) {
      r -= w
      if (r < 0) return value
    }
    return entries[entries.length - 1]![0]
  }

  /** A shuffled copy (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i)
      const tmp = out[i] as T
      out[i] = out[j] as T
      out[j] = tmp
    }
    return out
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length)
    for (let i = 0; i < length; i++) out[i] = this.int(0, 255)
    return out
  }

  /** A string of `min`–`max` characters drawn from `alphabet` (an array, so that it may hold surrogate pairs). */
  string(alphabet: readonly string[], min: number, max: number): string {
    let out = ''
    const length = this.int(min, max)
    for (let i = 0; i < length; i++) out += this.pick(alphabet)
    return out
  }

  /** A child generator, so that one part of a test can draw more without shifting another's stream. */
  fork(): Prng {
    return new Prng(this.int(0, 0xffffffff))
  }
}
