import type { Prng } from './prng.ts'

/** The input formats a target's seeds are in: each adds its structure-aware mutator to the byte-level ones. */
export type InputFormat = 'json' | 'protobuf' | 'varint'

/** One decoder under fuzzing. */
export interface FuzzTarget {
  /** Short stable name: the folder of its findings under `test/fixtures/fuzz/`. */
  readonly name: string
  /** `cheap` decoders get 1,000,000 executions in a long run, `heavy` ones (JSON schemas, Yjs, HTTP) 250,000. */
  readonly cost: 'cheap' | 'heavy'
  /** Structure-aware mutators that fit the seeds, beyond the byte-level ones every target gets. */
  readonly formats: readonly InputFormat[]
  /** Largest input tried (random inputs and mutations are cut to it). @default 65536 */
  readonly maxLength?: number
  /** Longest one execution may take before it counts as a hang. @default 500 */
  readonly timeBoundMs?: number
  /**
   * Valid encodings to mutate (from the test fixtures), and known-bad inputs worth mutating too. Called once before a
   * run or a replay: a target may set its state up here.
   */
  seeds(): Promise<Uint8Array[]> | Uint8Array[]
  /** Extra structure-aware mutations of the target's own (e.g. re-signing a mutated listing). */
  mutate?(r: Prng, input: Uint8Array): Uint8Array
  /** Decodes one input: returns what was accepted, or throws. */
  run(input: Uint8Array): unknown
  /** Whether a thrown error is the package's typed error (anything else is a finding). */
  isTyped(err: unknown): boolean
  /** Independent re-check of what the decoder accepted: undefined when it is valid, otherwise why not. */
  check?(input: Uint8Array, accepted: unknown): string | undefined | Promise<string | undefined>
  /** Drops state the target accumulates (called before each heap sample, so the heap measures the decoder only). */
  reset?(): void | Promise<void>
  /** Releases what `seeds` or `run` set up. */
  close?(): void | Promise<void>
}

/** What an execution found that it should not have. */
export type FindingKind = 'untyped' | 'hang' | 'accepted-invalid'

/** One input that broke a rule, with what happened. */
export interface Finding {
  kind: FindingKind
  input: Uint8Array
  /** The error's name and message, the hang's duration or the failed check. */
  detail: string
}
