import type { Logger } from '@libp2p/interface'
import { MAX_RESOLVE_INTERVAL_MS, RESOLVER_CONCURRENCY } from '../constants.ts'
import type { CallRecord } from '../store/records.ts'
import { TERMINAL_STATES } from '../store/records.ts'

interface Due {
  /** Unix ms of the next resolution. */
  at: number
  /** Current back-off (ms). */
  delay: number
  /** Unix ms of the authorization's `validBefore`: resolve just after it, when the outcome becomes provable. */
  validBefore: number
}

/** What the resolver needs from the server. */
export interface ResolverHost {
  log: Logger
  /** Resumes one pending call; resolves with the record as it now stands. */
  resume(key: string, confirmationTimeoutMs: number): Promise<CallRecord | undefined>
}

/** Options for a {@link Resolver}. */
export interface ResolverInit {
  /** First delay after a call is scheduled (ms); it doubles up to 15 s. */
  intervalMs: number
  /** How long one resolution waits for a confirmation (ms). */
  confirmationTimeoutMs: number
}

/**
 * The background resolver (spec §7.3): every call whose settlement is pending is resumed on a back-off schedule —
 * after a timeout, a lost answer, a drop, a restart — until it reaches a terminal state, so `SETTLEMENT_PENDING` always
 * ends: in the transfer confirmed (the handler then runs and the result is stored for the buyer's re-ask), or in a
 * proof that nothing moved, which the chain gives at the latest once `validBefore` has passed.
 */
export class Resolver {
  private readonly host: ResolverHost
  private readonly init: ResolverInit
  private readonly due = new Map<string, Due>()
  private readonly active = new Set<string>()
  private timer: ReturnType<typeof setTimeout> | undefined
  private running = false

  constructor(host: ResolverHost, init: ResolverInit) {
    this.host = host
    this.init = init
  }

  /** Calls waiting for resolution. */
  get size(): number {
    return this.due.size
  }

  start(): void {
    this.running = true
    this.arm()
  }

  stop(): void {
    this.running = false
    clearTimeout(this.timer)
    this.timer = undefined
  }

  /**
   * Schedules `key` for resolution; a call already scheduled backs off (doubling its delay). `now` resolves it at
   * the next tick (after a restart).
   */
  schedule(key: string, validBefore: number, now = false): void {
    const previous = this.due.get(key)
    const delay = now
      ? 0
      : Math.min(previous == null ? this.init.intervalMs : previous.delay * 2, MAX_RESOLVE_INTERVAL_MS)
    let at = Date.now() + delay
    // The first moment the chain can prove "nothing moved" is just after validBefore: do not sleep past it.
    const proof = validBefore + 1_000
    if (at > proof && Date.now() < proof) at = proof
    this.due.set(key, { at, delay: Math.max(delay, this.init.intervalMs), validBefore })
    this.arm()
  }

  unschedule(key: string): void {
    this.due.delete(key)
  }

  private arm(): void {
    if (!this.running || this.timer != null) return
    let next = Number.POSITIVE_INFINITY
    for (const [key, d] of this.due) if (!this.active.has(key) && d.at < next) next = d.at
    if (next === Number.POSITIVE_INFINITY) return
    this.timer = setTimeout(
      () => {
        this.timer = undefined
        this.tick()
      },
      Math.max(0, next - Date.now())
    )
    this.timer.unref?.()
  }

  private tick(): void {
    const now = Date.now()
    const ready = [...this.due]
      .filter(([key, d]) => d.at <= now && !this.active.has(key))
      .sort((x, y) => x[1].at - y[1].at)
    for (const [key, d] of ready) {
      if (this.active.size >= RESOLVER_CONCURRENCY) break
      this.active.add(key)
      this.host
        .resume(key, this.init.confirmationTimeoutMs)
        .then((record) => {
          if (record == null || TERMINAL_STATES.has(record.state)) this.due.delete(key)
          else if (this.due.get(key) === d) this.schedule(key, d.validBefore)
        })
        .catch((err: unknown) => {
          if (!this.running) return
          this.host.log.error('resolving %s failed - %e', key, err)
          if (this.due.get(key) === d) this.schedule(key, d.validBefore)
        })
        .finally(() => {
          this.active.delete(key)
          this.arm()
        })
    }
    this.arm()
  }
}
