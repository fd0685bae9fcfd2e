import type { FuzzTarget } from './target.ts'

/** The outcome of one saved input run again: what broke, or undefined when it is handled. */
export async function replay(target: FuzzTarget, input: Uint8Array): Promise<string | undefined> {
  const bound = target.timeBoundMs ?? 500
  const t0 = performance.now()
  let accepted = false
  let output: unknown
  try {
    output = target.run(input)
    if (output instanceof Promise) output = await output
    accepted = true
  } catch (err) {
    if (!target.isTyped(err)) return `untyped ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`
  }
  const ms = performance.now() - t0
  if (ms > bound) return `took ${ms.toFixed(0)} ms (bound ${bound} ms)`
  if (accepted) {
    const problem = await target.check?.(input, output)
    if (problem != null) return `accepted but invalid: ${problem}`
  }
  return undefined
}
