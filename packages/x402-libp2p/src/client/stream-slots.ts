/**
 * Bounds the x402 streams a client has open to one peer at a time, queueing the rest (first come, first served).
 * A connection carries a limited number of streams per protocol (js-libp2p's default: 64 each way), and a seller
 * bounds the paid calls one payer has in progress: beyond those, calls fail instead of waiting. Calls over the bound
 * wait for a stream to close.
 */
export class StreamSlots {
  private readonly max: number
  private readonly active = new Map<string, number>()
  private readonly waiting = new Map<string, Array<() => void>>()

  constructor(max: number) {
    if (!(max >= 1)) throw new RangeError('at least one stream per peer')
    this.max = max
  }

  /** Takes a slot for `peer`, waiting for one to free; resolves with its release (idempotent). */
  async acquire(peer: string, signal?: AbortSignal): Promise<() => void> {
    while ((this.active.get(peer) ?? 0) >= this.max) {
      signal?.throwIfAborted()
      await new Promise<void>((resolve, reject) => {
        const queue = this.waiting.get(peer) ?? []
        this.waiting.set(peer, queue)
        const onAbort = (): void => {
          const i = queue.indexOf(wake)
          if (i >= 0) queue.splice(i, 1)
          reject(signal?.reason)
        }
        const wake = (): void => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        }
        queue.push(wake)
        signal?.addEventListener('abort', onAbort, { once: true })
      })
    }
    this.active.set(peer, (this.active.get(peer) ?? 0) + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const n = (this.active.get(peer) ?? 1) - 1
      if (n > 0) this.active.set(peer, n)
      else this.active.delete(peer)
      const queue = this.waiting.get(peer)
      const next = queue?.shift()
      if (queue != null && queue.length === 0) this.waiting.delete(peer)
      next?.()
    }
  }
}
