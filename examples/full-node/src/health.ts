import type { ProbeResult } from '@betar/executor'
import type { Marketplace, PublishInput } from '@betar/marketplace-crdt'
import type { X402Resource, X402Server } from '@betar/x402-libp2p'

/** Options of {@link AgentHealth}. */
export interface AgentHealthInit {
  market: Marketplace
  x402: X402Server
  /** How often every watched agent is probed (ms; 0: only on {@link AgentHealth.checkNow}). @default 60000 */
  intervalMs?: number
  /** Consecutive failed probes after which an agent is delisted. @default 3 */
  maxFailures?: number
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
  /** The last probe's problem, for the operator (may name local paths and hosts: never sent to peers). */
  problem?: string
  /** Unix ms of the last probe. */
  checkedAt?: number
}

interface Entry extends WatchedAgent, AgentHealthStatus {}

/**
 * Keeps only working agents on sale: each watched agent's executor is probed periodically; after `maxFailures`
 * consecutive failures the agent is delisted from the marketplace and its x402 resource unregistered (calls already
 * paid finish from their records; new ones are refused before payment), and it is served and listed again once a probe
 * succeeds.
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
    this.#agents.set(agent.name, { ...agent, listed: true, failures: 0 })
    const every = this.#init.intervalMs ?? 60_000
    if (every > 0 && this.#timer == null) {
      this.#timer = setInterval(() => {
        this.checkNow().catch((err: unknown) => this.#init.log?.(`health check failed: ${String(err)}`))
      }, every)
      this.#timer.unref?.()
    }
  }

  status(): AgentHealthStatus[] {
    return [...this.#agents.values()].map(({ name, listed, failures, problem, checkedAt }) => ({
      name,
      listed,
      failures,
      ...(problem != null ? { problem } : {}),
      ...(checkedAt != null ? { checkedAt } : {})
    }))
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
      delete entry.problem
      if (!entry.listed) {
        if (!this.#init.x402.resources().includes(entry.name)) this.#init.x402.register(entry.name, entry.resource)
        await this.#init.market.publish(entry.listing, signal != null ? { signal } : {})
        entry.listed = true
        this.#init.log?.(`agent ${entry.name} recovered: listed again`)
      }
      return
    }
    entry.failures++
    entry.problem = result.problem
    if (entry.listed && entry.failures >= (this.#init.maxFailures ?? 3)) {
      await this.#init.market.delist(entry.name, signal != null ? { signal } : {})
      this.#init.x402.unregister(entry.name)
      entry.listed = false
      this.#init.log?.(`agent ${entry.name} delisted after ${entry.failures} failed health checks: ${result.problem}`)
    }
  }
}
