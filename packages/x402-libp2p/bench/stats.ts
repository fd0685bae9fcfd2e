import { readFileSync } from 'node:fs'
import type { Devnet, DevnetAccount } from '@betar/devnet'
import { type Hex, http, type LocalAccount, type Transport } from 'viem'
import type { PaymentSigner } from '../src/index.ts'

/** One load run: `calls` calls by `concurrency` workers, each latency in ms. */
export interface LoadResult {
  calls: number
  concurrency: number
  durationMs: number
  callsPerSecond: number
  latenciesMs: number[]
}

/** Runs exactly `calls` calls with `concurrency` workers pulling from a shared counter (a bounded loop). */
export async function runLoad(
  calls: number,
  concurrency: number,
  call: (index: number) => Promise<void>
): Promise<LoadResult> {
  const latenciesMs: number[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < calls) {
      const index = next++
      const t0 = performance.now()
      await call(index)
      latenciesMs.push(performance.now() - t0)
    }
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: Math.min(concurrency, calls) }, worker))
  const durationMs = performance.now() - t0
  return { calls, concurrency, durationMs, callsPerSecond: (calls * 1000) / durationMs, latenciesMs }
}

/** Nearest-rank percentile (p in 0…100) of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1] ?? Number.NaN
}

export const mean = (samples: readonly number[]): number =>
  samples.length === 0 ? Number.NaN : samples.reduce((a, b) => a + b, 0) / samples.length

/** Rounds for printing and JSON. */
export const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits

/**
 * Where a paid call's time goes: summed phase timings (ms) and event counts (e.g. JSON-RPC methods), reset before a
 * measurement and divided by its call count afterwards.
 */
export class Profile {
  private readonly times = new Map<string, number>()
  private readonly counts = new Map<string, number>()

  reset(): void {
    this.times.clear()
    this.counts.clear()
  }

  count(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
  }

  add(key: string, ms: number): void {
    this.times.set(key, (this.times.get(key) ?? 0) + ms)
  }

  async time<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now()
    try {
      return await fn()
    } finally {
      this.add(key, performance.now() - t0)
    }
  }

  /** Mean ms per call of each timed phase and mean count per call of each counted event. */
  perCall(calls: number): { ms: Record<string, number>; counts: Record<string, number> } {
    const per = (m: Map<string, number>, digits: number) =>
      Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, round(v / calls, digits)]))
    return { ms: per(this.times, 2), counts: per(this.counts, 2) }
  }
}

/** A viem HTTP transport that counts each JSON-RPC request by method (as `rpc:<method>`) in `profile`. */
export function countingHttp(url: string, profile: Profile): Transport {
  const inner = http(url)
  return ((params: Parameters<Transport>[0]) => {
    const transport = inner(params)
    const request: typeof transport.request = (args, options) => {
      profile.count(`rpc:${args.method}`)
      return transport.request(args, options)
    }
    return { ...transport, request }
  }) as Transport
}

/** Plain-text table with right-aligned numeric columns. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

/** Price of one paid call, in USDC atomic units (0.001 USDC). */
export const PRICE = 1000n

/** Settling clients poll for receipts this often (viem's default on a local chain is 4 s; x402.md §9). */
export const POLLING_INTERVAL_MS = 20

/** A way to make one paid call, measured by the bench. */
export interface Stack {
  readonly name: string
  /** Where a call's time goes (phase timings, RPC counts), reset before each measurement. */
  readonly profile: Profile
  /** One paid call (by buyer `buyer`, default 0): settles on-chain; throws unless the result and settlement are right. */
  call(buyer?: number): Promise<void>
  /**
   * When the buyers run in a process of their own: every buyer's loop of `perBuyer` calls, run there (wall time and
   * each call's latency, ms; results checked there as `call` checks them).
   */
  run?(perBuyer: number): Promise<{ ms: number; latencies: number[] }>
  /** Stops its nodes or servers. */
  stop(): Promise<void>
}

/** What a stack needs from the chain. */
export interface StackChain {
  devnet: Devnet
  seller: DevnetAccount
  payer: DevnetAccount
}

/**
 * The payer's key as an EIP-712 signer that also records, per call, the time from the call's start to the signature
 * (the first round trip in 2-trip mode) and the signing time. The first is only meaningful at concurrency 1.
 */
export function timedSigner(
  account: LocalAccount,
  profile: Profile,
  callStartedAt: () => number
): PaymentSigner & { readonly address: Hex } {
  return {
    address: account.address,
    signTypedData: (parameters) => {
      profile.add('client: start → sign', performance.now() - callStartedAt())
      return profile.time('client: sign', () =>
        account.signTypedData(parameters as Parameters<LocalAccount['signTypedData']>[0])
      )
    }
  }
}

/** CPU time (ms) used so far by this process and by another one (from `/proc/<pid>/stat`, Linux; NaN elsewhere). */
export function cpuMs(pid: number | undefined): { self: number; other: number } {
  const { user, system } = process.cpuUsage()
  let other = Number.NaN
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    other = ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND
  } catch {
    // not Linux, or no such process
  }
  return { self: (user + system) / 1000, other }
}

/** `getconf CLK_TCK` on Linux. */
const CLOCK_TICKS_PER_SECOND = 100
