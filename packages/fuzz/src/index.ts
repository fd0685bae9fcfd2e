/**
 * @packageDocumentation
 *
 * The fuzzing engine of the Betar decoders (private; used by each package's `test/fuzz/`). A target names a decoder,
 * its seeds (valid encodings from the test fixtures), the formats of its input and how to tell its typed error from
 * anything else; the engine mutates the seeds (bytes, LEB128 varints, protobuf fields, JSON values and nesting) or
 * draws random bytes, and checks every execution: typed error or accepted-and-re-checked, within the time bound, heap
 * flat after GC. See docs/fuzzing.md.
 */

export { attempt, attemptAsync, typedBy } from './attempt.ts'
export { budgetFromEnv, LONG_RUN_EXECUTIONS } from './budget.ts'
export { findingsDir, savedInputs, saveFinding } from './findings.ts'
export { collector, settledHeap } from './heap.ts'
export { INTERESTING_JSON, INTERESTING_UINTS } from './interesting.ts'
export { mutateBytes } from './mutate/bytes.ts'
export { mutateJson } from './mutate/json.ts'
export { encodeMessage, mutateProtobuf, parseMessage } from './mutate/protobuf.ts'
export { encodeVarint, mutateVarint, readVarint } from './mutate/varint.ts'
export { Prng } from './prng.ts'
export { replay } from './replay.ts'
export { clean, FLAT_HEAP_BYTES, formatTable } from './report.ts'
export { type FuzzReport, type RunOptions, runTarget } from './run.ts'
export type { Finding, FindingKind, FuzzTarget, InputFormat } from './target.ts'
