import { exceedsValueDepth, parseBoundedJson } from '@betar/bounded-json'
import { raceAbort } from './abort.ts'
import {
  ExecutionAbortedError,
  ExecutionFailedError,
  ExecutionTimeoutError,
  InputValidationError,
  OutputTooLargeError,
  OutputValidationError
} from './errors.ts'
import { compileSchema } from './schema.ts'
import { collectText, isAsyncIterable } from './stream.ts'
import type { Executor, JsonSchema } from './types.ts'

/** Default largest streamed output: 1 MiB. */
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024

/** How to run one call: the listing's schemas and limits, and who is calling. */
export interface RunOptions {
  /** The listing's input schema; the input is rejected before the executor runs if it does not match. */
  inputSchema?: JsonSchema
  /** The listing's output schema; the output is rejected if it does not match. */
  outputSchema?: JsonSchema
  /** Time limit; the executor's signal aborts when it passes. */
  timeoutMs: number
  /** The caller's signal (e.g. the x402 handler's). */
  signal?: AbortSignal
  /** The buyer's peer id. */
  caller: string
  correlationId: string
  /** Largest streamed output in UTF-8 bytes. @default 1 MiB */
  maxOutputBytes?: number
}

/**
 * Runs an executor under a listing's contract: validates the input, enforces the time limit (combined with the
 * caller's signal, which the executor sees), collects streamed output up to `maxOutputBytes`, then validates the
 * output.
 *
 * A string output (e.g. collected from a stream) is parsed as JSON when the output schema expects a non-string type.
 *
 * @throws {@link InputValidationError}, {@link OutputValidationError}, {@link ExecutionTimeoutError},
 * {@link ExecutionAbortedError}, {@link OutputTooLargeError} or {@link ExecutionFailedError} (with the executor's
 * error as `cause`).
 */
export async function runExecutor(executor: Executor, input: unknown, options: RunOptions): Promise<unknown> {
  if (options.inputSchema != null) {
    const validate = compileSchema(options.inputSchema)
    if (!validate(input)) throw new InputValidationError(validate.errors ?? [])
  }
  if (options.signal?.aborted === true) throw new ExecutionAbortedError(options.signal.reason)

  const timeout = AbortSignal.timeout(options.timeoutMs)
  const signal = options.signal == null ? timeout : AbortSignal.any([timeout, options.signal])
  const ctx = { signal, caller: options.caller, correlationId: options.correlationId }

  let output: unknown
  try {
    const result = await raceAbort(
      Promise.resolve().then(() => executor.execute(input, ctx)),
      signal
    )
    output = isAsyncIterable(result)
      ? await collectText(result, options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES, signal)
      : result
  } catch (err) {
    if (timeout.aborted) throw new ExecutionTimeoutError(options.timeoutMs)
    if (options.signal != null && isAborted(options.signal)) throw new ExecutionAbortedError(options.signal.reason)
    if (err instanceof OutputTooLargeError) throw err
    throw new ExecutionFailedError(`executor failed: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err
    })
  }

  // What follows (ajv, then the handler's JSON.stringify) recurses: an agent's output is bounded like its input.
  if (typeof output === 'object' && output !== null && exceedsValueDepth(output, MAX_OUTPUT_DEPTH)) {
    throw new ExecutionFailedError(`output nests more than ${MAX_OUTPUT_DEPTH} levels deep`)
  }
  if (options.outputSchema != null) {
    const validate = compileSchema(options.outputSchema)
    if (!validate(output)) {
      const errors = validate.errors ?? []
      const parsed = parseForSchema(output, options.outputSchema)
      if (parsed.ok && validate(parsed.value)) return parsed.value
      throw new OutputValidationError(errors, output)
    }
  }
  return output
}

/** Deepest nesting of arrays and objects an executor's output may have (as {@link MAX_INPUT_DEPTH} for inputs). */
export const MAX_OUTPUT_DEPTH = 64

function parseForSchema(output: unknown, schema: JsonSchema): { ok: true; value: unknown } | { ok: false } {
  if (typeof output !== 'string' || typeof schema !== 'object' || schema.type === 'string') return { ok: false }
  try {
    // An LLM or command writes what the buyer asks for: a 20 KB answer nesting 10,000 deep parsed, then broke the
    // handler's JSON.stringify with a RangeError after the task ran (review of issue 13).
    return { ok: true, value: parseBoundedJson(output, { maxDepth: MAX_OUTPUT_DEPTH }) }
  } catch {
    return { ok: false }
  }
}

/** Re-reads `aborted` (TypeScript narrows the property after a first check). */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted
}
