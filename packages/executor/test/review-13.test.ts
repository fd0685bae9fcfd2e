import { describe, expect, it } from 'vitest'
import { functionExecutor } from '../src/adapters/function.ts'
import {
  ExecutionFailedError,
  ExecutionTimeoutError,
  OutputTooLargeError,
  OutputValidationError
} from '../src/errors.ts'
import { toX402Handler } from '../src/handler.ts'

/*
 * Review of issue 13 (hostile peers, same kinds of fault as the issue's): defects found from outside, fixed since.
 */

const request = (body: string) => ({
  body: new TextEncoder().encode(body),
  peer: { toString: () => '12D3KooWBuyer' },
  correlationId: 'c1'
})

/** The errors `toX402Handler` documents (those of runExecutor): anything else is untyped. */
const typed = (err: unknown) =>
  err instanceof OutputValidationError ||
  err instanceof ExecutionFailedError ||
  err instanceof ExecutionTimeoutError ||
  err instanceof OutputTooLargeError

describe('review 13: agent output parsed for an object output schema', () => {
  it('control: a text output that is a shallow JSON object is parsed for the schema and sent', async () => {
    const handler = toX402Handler({
      executor: functionExecutor(async () => '{"summary":"ok"}'),
      outputSchema: { type: 'object' }
    })
    const out = await handler(request('"hi"'), { signal: new AbortController().signal })
    expect(new TextDecoder().decode(out)).toBe('{"summary":"ok"}')
  })

  /*
   * Defect (issue 13 faults 2/3's kind on the output side, which the input bound does not cover): when an agent answers
   * text and the listing's output schema is an object, `parseForSchema` (src/run.ts) reads it with a bare `JSON.parse`
   * — no depth bound — and the handler then re-encodes the value with the recursive `JSON.stringify`
   * (src/handler.ts). An LLM or command agent answers what the buyer's prompt asks for: a buyer that asks for an object
   * nesting 10,000 arrays deep (20 KB, far under the 1 MiB output cap) makes the handler throw a plain `RangeError`
   * after the task ran — after payment with the default `settlement: 'before'`, so the seller pays a refund — instead of
   * the documented typed errors (`OutputValidationError`). Expected: the output bounded like the input (64 levels),
   * refused as `OutputValidationError`.
   */
  it('a text output nesting 10,000 deep under an object output schema fails with a typed error', async () => {
    const deep = `{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`
    const handler = toX402Handler({
      executor: functionExecutor(async () => deep),
      outputSchema: { type: 'object' }
    })
    const err = await handler(request('"make it deep"'), { signal: new AbortController().signal }).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(err, String(err)).toBeDefined()
    expect(typed(err), `untyped: ${String(err)}`).toBe(true)
  })

  it('a function executor answering a deep, cyclic or BigInt value fails typed, never with a plain error', async () => {
    let deep: unknown = 1
    for (let i = 0; i < 10_000; i++) deep = [deep]
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    for (const value of [deep, cyclic, { n: 1n }]) {
      const handler = toX402Handler({ executor: functionExecutor(async () => value) })
      const err = await handler(request('"x"'), { signal: new AbortController().signal }).then(
        () => undefined,
        (e: unknown) => e
      )
      expect(err instanceof ExecutionFailedError, `untyped: ${String(err)}`).toBe(true)
    }
  })
})
