import type { ProbeResult } from '@betar/executor'
import type { Marketplace, PublishInput } from '@betar/marketplace-crdt'
import type { X402Resource, X402Server } from '@betar/x402-libp2p'

/** Options of {@link AgentHealth}. */
export interface AgentHealthInit {
  market: Marketplace
  x402: X402Server
  /** How often every watched agent is probed (ms; 0: only on {@link AgentHealth.checkNow}). @default 60000 */
  intervalMs?: number
  /** Consecutive failed probes — or paid calls failing in the handler — after which an agent is delisted. @default 3 */
  maxFailures?: number
  /**
   * Failed paid calls in a row delist an agent only when they came from at least this many different payers, so one
   * buyer cannot delist an agent by making it fail on purpose. @default 2
   */
  minFailingPayers?: number
  /**
   * After a delisting for failing paid calls (the probe cannot see those: `/models` can answer while completions fail),
   * the agent is listed again only once this has passed and a probe succeeds; it doubles with each such delisting, up
   * to an hour (ms). @default 300000
   */
  callFailureCooldownMs?: number
  log?: (message: string) => void
}

/** An agent on sale, as {@link AgentHealth} watches it. */
export interface WatchedAgent {
  /** The x402 resource and listing id. */
  name: string
  /** The executor's health check (`probeExecutor`). */
  probe: (signal?: AbortSignal) => Promise<ProbeResult>
  /** What to serve again once it recovers. */
  resource: X402Resource
  /** What to list again once it recovers. */
  listing: PublishInput
}

/** Where one agent stands. */
export interface AgentHealthStatus {
  name: string
  /** Served and listed now. */
  listed: boolean
  /** Consecutive failed probes. */
  failures: number
  /** Consecutive paid calls that failed in the handler. */
  failedCalls: number
  /** Unix ms before which a delisting for failing calls is not undone. */
  cooldownUntil?: number
  /** The last probe's problem, for the operator (may name local paths and hosts: never sent to peers). */
  problem?: string
  /** Unix ms of the last probe. */
  checkedAt?: number
}

interface Entry extends WatchedAgent, AgentHealthStatus {
  /** Delistings for failing calls in a row (the cooldown doubles with each). */
  callDelistings: number
  /** The payers of the failed calls in a row. */
  failingPayers: Set<string>
}

/**
 * Keeps only working agents on sale: each watched agent's executor is probed periodically, and its paid calls are
 * watched; after `maxFailures` consecutive failed probes — or paid calls failing in the handler — the agent is delisted
 * from the marketplace and its x402 resource unregistered (calls already paid finish from their records; new ones are
 * refused before payment). It is served and listed again once a probe succeeds (after a cooldown when it was delisted
 * for failing calls).
 */
export class AgentHealth {
  readonly #init: AgentHealthInit
  readonly #agents = new Map<string, Entry>()
  #timer: ReturnType<typeof setInterval> | undefined
  #checking: Promise<AgentHealthStatus[]> | undefined

  constructor(init: AgentHealthInit) {
    this.#init = init
  }

  /** Watches an agent that is on sale now (listed and served). */
  watch(agent: WatchedAgent): void {
    this.#agents.set(agent.name, {
      ...agent,
      listed: true,
      failures: 0,
      failedCalls: 0,
      callDelistings: 0,
      failingPayers: new Set()
    })
    const every = this.#init.intervalMs ?? 60_000
    if (every > 0 && this.#timer == null) {
      this.#timer = setInterval(() => {
        this.checkNow().catch((err: unknown) => this.#init.log?.(`health check failed: ${String(err)}`))
      }, every)
      this.#timer.unref?.()
    }
  }

  status(): AgentHealthStatus[] {
    return [...this.#agents.values()].map(
      ({ name, listed, failures, failedCalls, problem, checkedAt, cooldownUntil }) => ({
        name,
        listed,
        failures,
        failedCalls,
        ...(problem != null ? { problem } : {}),
        ...(checkedAt != null ? { checkedAt } : {}),
        ...(cooldownUntil != null ? { cooldownUntil } : {})
      })
    )
  }

  /**
   * The outcome of a paid call of a watched agent (the node feeds it the x402 server's events, with the call's payer):
   * `maxFailures` handler failures in a row, from at least `minFailingPayers` different payers, delist the agent for a
   * cooldown — each cost a refund or an unpaid run. One payer alone cannot take an agent off the market by sending
   * input that makes it fail (it is throttled by the x402 server instead, spec §10.2).
   */
  async callOutcome(name: string, ok: boolean, payer?: string, signal?: AbortSignal): Promise<void> {
    const entry = this.#agents.get(name)
    if (entry == null) return
    if (ok) {
      entry.failedCalls = 0
      entry.failingPayers.clear()
      entry.callDelistings = 0
      return
    }
    entry.failedCalls++
    entry.failingPayers.add((payer ?? '').toLowerCase())
    if (!entry.listed || entry.failedCalls < (this.#init.maxFailures ?? 3)) return
    if (entry.failingPayers.size < (this.#init.minFailingPayers ?? 2)) return
    const cooldown = Math.min((this.#init.callFailureCooldownMs ?? 300_000) * 2 ** entry.callDelistings, 3_600_000)
    entry.callDelistings++
    entry.cooldownUntil = Date.now() + cooldown
    entry.problem = `${entry.failedCalls} paid calls in a row, from ${entry.failingPayers.size} payers, failed in the handler`
    entry.failingPayers.clear()
    await this.#delist(entry, signal)
  }

  /** Probes every watched agent now (one round at a time), delisting or relisting as needed. */
  checkNow(signal?: AbortSignal): Promise<AgentHealthStatus[]> {
    this.#checking ??= (async () => {
      try {
        for (const entry of this.#agents.values()) await this.#check(entry, signal)
        return this.status()
      } finally {
        this.#checking = undefined
      }
    })()
    return this.#checking
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  async #check(entry: Entry, signal?: AbortSignal): Promise<void> {
    const result = await entry.probe(signal)
    entry.checkedAt = Date.now()
    if (result.ok) {
      entry.failures = 0
      if (entry.cooldownUntil != null && Date.now() < entry.cooldownUntil) return
      delete entry.problem
      delete entry.cooldownUntil
      if (!entry.listed) {
        entry.failedCalls = 0
        if (!this.#init.x402.resources().includes(entry.name)) this.#init.x402.register(entry.name, entry.resource)
        await this.#init.market.publish(entry.listing, signal != null ? { signal } : {})
        entry.listed = true
        this.#init.log?.(`agent ${entry.name} recovered: listed again`)
      }
      return
    }
    entry.failures++
    entry.problem = result.problem
    if (entry.listed && entry.failures >= (this.#init.maxFailures ?? 3)) await this.#delist(entry, signal)
  }

  async #delist(entry: Entry, signal?: AbortSignal): Promise<void> {
    entry.listed = false
    this.#init.x402.unregister(entry.name)
    await this.#init.market.delist(entry.name, signal != null ? { signal } : {})
    this.#init.log?.(`agent ${entry.name} delisted: ${entry.problem}`)
  }
}
