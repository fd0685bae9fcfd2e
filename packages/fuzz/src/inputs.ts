import { mutateBytes } from './mutate/bytes.ts'
import { mutateJson } from './mutate/json.ts'
import { mutateProtobuf } from './mutate/protobuf.ts'
import { mutateVarint } from './mutate/varint.ts'
import type { Prng } from './prng.ts'
import type { FuzzTarget } from './target.ts'

/** Accepted mutants kept to mutate further (bounded, so the fuzzer's own memory stops growing early). */
const POOL_SIZE = 128
const POOL_MAX_INPUT = 16 * 1024

type Mutator = (r: Prng, input: Uint8Array, other: Uint8Array) => Uint8Array

/**
 * Where the inputs of one run come from: random bytes (8 %), seeds as they are (4 %), and otherwise one to four
 * stacked edits of a seed or of an accepted mutant — byte-level edits, plus the structure-aware ones of the target's
 * formats (varint, protobuf, JSON, and the target's own `mutate`).
 */
export class InputSource {
  private readonly mutators: Mutator[]
  private readonly pool: Uint8Array[] = []
  private poolNext = 0
  private readonly maxLength: number

  constructor(
    target: FuzzTarget,
    private readonly seeds: readonly Uint8Array[]
  ) {
    this.maxLength = target.maxLength ?? 65_536
    const structured: Mutator[] = []
    const json = (r: Prng, payload: Uint8Array): Uint8Array => {
      const edited = mutateJson(r, payload)
      return edited === payload ? mutateBytes(r, payload, payload) : edited
    }
    for (const format of target.formats) {
      if (format === 'json') structured.push((r, input) => mutateJson(r, input))
      if (format === 'varint' || format === 'protobuf') structured.push((r, input) => mutateVarint(r, input))
      if (format === 'protobuf') structured.push((r, input) => mutateProtobuf(r, input, json))
    }
    const own = target.mutate?.bind(target)
    if (own != null) structured.push((r, input) => own(r, input))
    // byte-level edits take about a third of the draws, the structure-aware ones share the rest
    const bytes: Mutator = (r, input, other) => mutateBytes(r, input, other)
    this.mutators =
      structured.length === 0 ? [bytes] : [bytes, ...structured, ...(structured.length < 2 ? [] : [bytes])]
  }

  /** The next input to run. */
  next(r: Prng): Uint8Array {
    const roll = r.below(100)
    if (roll < 8 || this.seeds.length === 0) return r.bytes(r.size(Math.min(this.maxLength, 4096)))
    if (roll < 12) return r.pick(this.seeds)
    let input = this.pool.length > 0 && r.chance(0.3) ? r.pick(this.pool) : r.pick(this.seeds)
    const edits = 1 + r.size(3)
    for (let i = 0; i < edits; i++) {
      const other = r.pick(this.seeds)
      try {
        input = r.pick(this.mutators)(r, input, other)
      } catch {
        // a mutator that cannot handle this input (too deep to re-serialize, …) leaves it as it was
      }
    }
    return input.byteLength > this.maxLength ? input.subarray(0, this.maxLength) : input
  }

  /** Keeps an accepted mutant to build on (now and then, bounded). */
  accepted(r: Prng, input: Uint8Array): void {
    if (input.byteLength > POOL_MAX_INPUT || !r.chance(0.05)) return
    if (this.pool.length < POOL_SIZE) this.pool.push(input.slice())
    else {
      this.pool[this.poolNext] = input.slice()
      this.poolNext = (this.poolNext + 1) % POOL_SIZE
    }
  }
}
