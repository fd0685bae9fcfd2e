import type { ExecutionContext, Executor } from '../types.ts'

/** A plain function doing the task: returns a value, a promise of one, or a stream of text chunks. */
export type TaskFunction<I = unknown, O = unknown> = (
  input: I,
  ctx: ExecutionContext
) => O | Promise<O> | AsyncIterable<string>

/**
 * An executor around a plain function (or a tool's `execute`). The function gets the context, including the signal
 * it should honour. Validation of `input` is done by {@link runExecutor} against the listing's schema, so `I` is
 * trusted only when a schema is set.
 */
export function functionExecutor<I = unknown, O = unknown>(fn: TaskFunction<I, O>): Executor {
  return {
    execute(input, ctx) {
      const result = fn(input as I, ctx)
      if (result != null && typeof result === 'object' && Symbol.asyncIterator in result) {
        return result as AsyncIterable<string>
      }
      return Promise.resolve(result)
    }
  }
}
