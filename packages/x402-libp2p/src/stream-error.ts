import { StreamStateError } from '@libp2p/interface'

/**
 * An `Error` for whatever a libp2p stream operation rejected with. `stream.close()` of `@libp2p/utils` waits with
 * p-event and rejects with the stream's `close` **event** itself when the stream closes meanwhile (a reset by the
 * peer, say); passed on as it was — to `stream.abort()`, whose close event then carried it to every reader — a buyer
 * saw its call fail with "[object Event]". Gives the event's own `error` when it has one, else a `StreamStateError`
 * naming the event; a non-error value becomes an `Error` with its text.
 */
export function streamError(err: unknown): Error {
  if (err instanceof Error) return err
  if (typeof Event !== 'undefined' && err instanceof Event) {
    const cause = (err as Event & { error?: unknown }).error
    if (cause instanceof Error) return cause
    return new StreamStateError(`the stream emitted "${err.type}" before the operation finished`)
  }
  return new Error(String(err))
}
