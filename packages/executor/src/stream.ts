import { raceAbort } from './abort.ts'
import { OutputTooLargeError } from './errors.ts'

/** Whether a value is an async iterable (a streamed executor result). */
export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    value != null &&
    typeof value === 'object' &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  )
}

/**
 * Concatenates a stream of text chunks, stopping with {@link OutputTooLargeError} past `maxBytes` (UTF-8) and with
 * the signal's reason when it aborts. The iterator is closed in both cases.
 */
export async function collectText(
  stream: AsyncIterable<unknown>,
  maxBytes: number,
  signal: AbortSignal
): Promise<string> {
  const iterator = stream[Symbol.asyncIterator]()
  const encoder = new TextEncoder()
  let text = ''
  let bytes = 0
  let done = false
  try {
    while (true) {
      const next = await raceAbort(iterator.next(), signal)
      if (next.done === true) {
        done = true
        return text
      }
      const chunk = typeof next.value === 'string' ? next.value : new TextDecoder().decode(asBytes(next.value))
      bytes += encoder.encode(chunk).byteLength
      if (bytes > maxBytes) throw new OutputTooLargeError(maxBytes)
      text += chunk
    }
  } finally {
    if (!done) void Promise.resolve(iterator.return?.()).catch(() => {})
  }
}

function asBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value
  throw new TypeError(`stream chunks must be strings or Uint8Array, got ${typeof value}`)
}
