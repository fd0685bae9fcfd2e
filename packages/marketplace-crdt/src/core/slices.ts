/*
 * Work in slices: long computations are written as generators that yield between small steps, and run either to the
 * end at once (`runNow`) or with the event loop let through whenever a slice has used its time (`runSliced`), so that
 * checking a large or hostile update never holds a node's queries, timers or I/O for long.
 */

/** Runs a stepwise computation to the end, synchronously. */
export function runNow<T>(steps: Generator<void, T>): T {
  for (;;) {
    const step = steps.next()
    if (step.done === true) return step.value
  }
}

/** Wall time one slice of work may hold the event loop. */
export const SLICE_MS = 8

/** Lets other tasks (timers, I/O, queries) run. */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** Lets the event loop through whenever a slice of work has used its time. */
export class Slicer {
  private since = performance.now()

  async tick(): Promise<void> {
    if (performance.now() - this.since < SLICE_MS) return
    await yieldToEventLoop()
    this.since = performance.now()
  }
}

/** Runs a stepwise computation, yielding to the event loop whenever a slice has used its time. */
export async function runSliced<T>(steps: Generator<void, T>, sliceMs = SLICE_MS): Promise<T> {
  let since = performance.now()
  for (;;) {
    const step = steps.next()
    if (step.done === true) return step.value
    if (performance.now() - since >= sliceMs) {
      await yieldToEventLoop()
      since = performance.now()
    }
  }
}
