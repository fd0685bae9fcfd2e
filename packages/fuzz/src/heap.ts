import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

let gc: (() => void) | undefined

/**
 * The garbage collector: `globalThis.gc` under `--expose-gc`, otherwise switched on at run time (`--expose-gc` set
 * through V8 and `gc` read from a fresh context), so vitest workers can measure the heap too.
 */
export function collector(): () => void {
  if (gc != null) return gc
  const exposed = (globalThis as { gc?: () => void }).gc
  if (exposed != null) {
    gc = exposed
  } else {
    setFlagsFromString('--expose-gc')
    gc = runInNewContext('gc') as () => void
  }
  return gc
}

/** Memory in use after two full collections, in bytes: the JS heap plus external memory (ArrayBuffer contents). */
export function settledHeap(): number {
  const collect = collector()
  collect()
  collect()
  const { heapUsed, external } = process.memoryUsage()
  return heapUsed + external
}
