/** A peer refused a sync for now (its rate limit for us, or its load): try again after `retryAfterMs`. */
export class SyncRefusedError extends Error {
  static override name = 'SyncRefusedError'
  readonly retryAfterMs: number

  constructor(retryAfterMs: number, message = `sync refused, retry after ${retryAfterMs} ms`) {
    super(message)
    this.name = 'SyncRefusedError'
    this.retryAfterMs = retryAfterMs
  }
}
