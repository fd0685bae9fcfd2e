import '../../../tools/polyfills.ts'
/**
 * Paid calls as buyers grow (issue 14): one seller, N buyers with distinct wallets (and, over libp2p, distinct nodes),
 * each buyer calling in a loop; x402 over libp2p (1-trip, TCP, `before` settlement) against the official HTTP stack
 * (`@x402/hono` + `@x402/fetch`, seller's wallet as in-process facilitator) measured in the same run, on a chain that
 * mines every transaction at once (`automine`) and on one with 2-second blocks (`block-2s`). Every call is settled
 * on-chain by the end of its cell: checked by the buyers' and the seller's USDC balances.
 *
 * Prints one `BENCH_CELL {…}` line per cell, then a `BENCH_JSON` line with the ratios. BENCH_CURVE=quick runs a short
 * curve (for a smoke run); BENCH_ONLY=<substring of "stack:chain:buyers">  only the matching cells;
 * BENCH_CALLS_PER_BUYER=<n> overrides the calls each buyer makes.
 */
import { type Devnet, type DevnetAccount, startDevnet, usdcAbi } from '@betar/devnet'
import { createPublicClient, http } from 'viem'
import { runBuyers } from './buyers.ts'
import { startHttpMany } from './http.ts'
import { startLibp2pMany } from './libp2p.ts'
import { cpuMs, PRICE, percentile, round, type Stack } from './stats.ts'

type ChainKind = 'automine' | 'block-2s'

interface Cell {
  stack: 'http-x402' | 'libp2p'
  chain: ChainKind
  buyers: number
  /** `before`: settled (in batches) before the handler runs; `deferred`: answered at once, settled in the next batch. */
  mode: 'before' | 'deferred' | 'http'
  callsPerSecond: number
  p50Ms: number
  p99Ms: number
  /** Seller-side JSON-RPC requests per paid call (the settling wallet's; buyers here ask the chain nothing). */
  rpcPerCall: number
  settlementTxPerCall: number
  anvilCpuMsPerCall: number
  /** Payments the seller refused (and the buyers' clients re-asked) per paid call, by error. */
  refusedPerCall: Record<string, number>
  /** Seller-side JSON-RPC requests per paid call, by method. */
  rpcByMethod: Record<string, number>
}

const quick = process.env.BENCH_CURVE === 'quick'
const PLAN: Array<{ chain: ChainKind; buyers: number[]; callsPerBuyer: (n: number) => number }> = quick
  ? [
      { chain: 'automine', buyers: [1, 16], callsPerBuyer: (n) => 64 / n - 1 },
      { chain: 'block-2s', buyers: [16], callsPerBuyer: () => 2 }
    ]
  : [
      // The same chain length for every cell (1,024 paid calls, warm-up included): anvil's cost per transaction grows
      // with its chain (measured: 1.2 ms of its CPU per call after 272 blocks, 2.8 ms after 1,296), which would
      // otherwise weigh on the cells with more calls.
      { chain: 'automine', buyers: [1, 16, 64, 256], callsPerBuyer: (n) => 1024 / n - 1 },
      { chain: 'block-2s', buyers: [1, 64], callsPerBuyer: (n) => (n === 1 ? 4 : 3) }
    ]

/** Every buyer's loop of `perBuyer` calls: in the buyers' own process when they run there, else here. */
function runAll(stack: Stack, buyers: number, perBuyer: number): Promise<{ ms: number; latencies: number[] }> {
  return stack.run != null ? stack.run(perBuyer) : runBuyers(buyers, perBuyer, (b) => stack.call(b))
}

/** BENCH_BUYERS_PROCESS=0 hosts the buyers in the seller's process (one core for all their JavaScript). */
const BUYERS_PROCESS = process.env.BENCH_BUYERS_PROCESS !== '0'

async function usdcBalance(devnet: Devnet, account: DevnetAccount): Promise<bigint> {
  const client = createPublicClient({ chain: devnet.chain, transport: http(devnet.rpcUrl) })
  return client.readContract({
    address: devnet.network.usdc.address,
    abi: usdcAbi,
    functionName: 'balanceOf',
    args: [account.address]
  })
}

/** Calls per buyer in a deferred cell: each takes milliseconds, so many more than a block's worth. */
const DEFERRED_CALLS = Number(process.env.BENCH_DEFERRED_CALLS ?? (quick ? 10 : 40))

async function cell(
  stackKind: Cell['stack'],
  mode: Cell['mode'],
  chain: ChainKind,
  buyers: number,
  perBuyer: number
): Promise<Cell> {
  const devnet = await startDevnet({ accounts: buyers + 1, ...(chain === 'block-2s' ? { blockTime: 2 } : {}) })
  let stack: Stack | undefined
  try {
    const [seller, ...payers] = devnet.accounts as [DevnetAccount, ...DevnetAccount[]]
    const before = await Promise.all([seller, ...payers].map((a) => usdcBalance(devnet, a)))
    stack =
      stackKind === 'libp2p'
        ? await startLibp2pMany({ devnet, seller, payers }, 'tcp', '1-trip', {
            batch: true,
            buyersProcess: BUYERS_PROCESS,
            ...(mode === 'deferred' ? { settlement: 'deferred' } : {})
          })
        : await startHttpMany({ devnet, seller, payers }, { buyersProcess: BUYERS_PROCESS })
    const ready = stack
    // Warm-up: one call per buyer (connections, key caches), not measured.
    await runAll(ready, buyers, 1)
    ready.profile.reset()
    const cpu0 = cpuMs(devnet.anvil.process.pid)
    const run = await runAll(ready, buyers, perBuyer)
    const calls = buyers * perBuyer
    const paidEach = BigInt(1 + perBuyer) * PRICE
    // Deferred: answered before settling — wait for the last batches (their RPC and transactions count too).
    let after = await Promise.all([seller, ...payers].map((a) => usdcBalance(devnet, a)))
    for (let waited = 0; mode === 'deferred' && waited < 60_000; waited += 250) {
      if ((after[0] as bigint) - (before[0] as bigint) === paidEach * BigInt(buyers)) break
      await new Promise((resolve) => setTimeout(resolve, 250))
      after = await Promise.all([seller, ...payers].map((a) => usdcBalance(devnet, a)))
    }
    const cpu1 = cpuMs(devnet.anvil.process.pid)
    const counts = ready.profile.perCall(calls).counts
    // Every call settled by now: each buyer paid (1 + perBuyer) × PRICE, the seller received all of it.
    payers.forEach((_, i) => {
      if ((before[i + 1] as bigint) - (after[i + 1] as bigint) !== paidEach) {
        throw new Error(`buyer ${i} paid ${(before[i + 1] as bigint) - (after[i + 1] as bigint)}, not ${paidEach}`)
      }
    })
    if ((after[0] as bigint) - (before[0] as bigint) !== paidEach * BigInt(buyers)) {
      throw new Error('the seller did not receive every payment')
    }
    return {
      stack: stackKind,
      chain,
      buyers,
      mode,
      callsPerSecond: round((calls * 1000) / run.ms),
      p50Ms: round(percentile(run.latencies, 50), 1),
      p99Ms: round(percentile(run.latencies, 99), 1),
      rpcPerCall: round(
        Object.entries(counts)
          .filter(([k]) => k.startsWith('rpc:'))
          .reduce((n, [, v]) => n + v, 0),
        2
      ),
      settlementTxPerCall: round(
        (counts['rpc:eth_sendRawTransaction'] ?? 0) + (counts['rpc:eth_sendRawTransactionSync'] ?? 0),
        2
      ),
      anvilCpuMsPerCall: round((cpu1.other - cpu0.other) / calls, 2),
      refusedPerCall: Object.fromEntries(
        Object.entries(counts)
          .filter(([k]) => k.startsWith('refused:'))
          .map(([k, v]) => [k.slice(8), round(v, 3)])
      ),
      rpcByMethod: Object.fromEntries(
        Object.entries(counts)
          .filter(([k]) => k.startsWith('rpc:'))
          .map(([k, v]) => [k.slice(4), v])
      )
    }
  } finally {
    await stack?.stop()
    await devnet.stop()
  }
}

const cells: Cell[] = []
const started = performance.now()
try {
  for (const { chain, buyers, callsPerBuyer } of PLAN) {
    for (const n of buyers) {
      const kinds: Array<[Cell['stack'], Cell['mode']]> = [
        ['http-x402', 'http'],
        ['libp2p', 'before'],
        ...(chain === 'block-2s' ? [['libp2p', 'deferred'] as [Cell['stack'], Cell['mode']]] : [])
      ]
      for (const [stack, mode] of kinds) {
        // BENCH_ONLY=<substring of "stack:chain:buyers:mode">, e.g. libp2p:automine:256, measures only matching cells.
        const name = `${stack}:${chain}:${n}:${mode}`
        if (process.env.BENCH_ONLY != null && !name.includes(process.env.BENCH_ONLY)) continue
        const perBuyer =
          mode === 'deferred' ? DEFERRED_CALLS : Number(process.env.BENCH_CALLS_PER_BUYER ?? callsPerBuyer(n))
        const c = await cell(stack, mode, chain, n, perBuyer)
        cells.push(c)
        console.log(`BENCH_CELL ${JSON.stringify(c)}`)
      }
    }
  }
  const at = (stack: Cell['stack'], chain: ChainKind, buyers: number, mode?: Cell['mode']) =>
    cells.find(
      (c) =>
        c.stack === stack &&
        c.chain === chain &&
        c.buyers === buyers &&
        (mode == null ? c.mode !== 'deferred' : c.mode === mode)
    )
  const ratio = (a: number | undefined, b: number | undefined) => (a != null && b != null ? round(a / b, 2) : null)
  const top = Math.max(...cells.filter((c) => c.chain === 'automine').map((c) => c.buyers))
  const summary = {
    // No collapse: throughput with the most buyers against 16 (target ≥ 1).
    libp2pAutomineMostOver16: ratio(
      at('libp2p', 'automine', top)?.callsPerSecond,
      at('libp2p', 'automine', 16)?.callsPerSecond
    ),
    httpAutomineMostOver16: ratio(
      at('http-x402', 'automine', top)?.callsPerSecond,
      at('http-x402', 'automine', 16)?.callsPerSecond
    ),
    libp2pMaxRpcPerCallAutomine: Math.max(
      ...cells.filter((c) => c.stack === 'libp2p' && c.chain === 'automine').map((c) => c.rpcPerCall)
    ),
    // 2-second blocks, most buyers: `before` (batched) seller RPC and settlement transactions per call (≤ 2, ≤ 0.2).
    ...(() => {
      const n = Math.max(...cells.filter((c) => c.chain === 'block-2s').map((c) => c.buyers))
      const http = at('http-x402', 'block-2s', n)
      const deferred = at('libp2p', 'block-2s', n, 'deferred')
      return {
        block2sBeforeRpcPerCall: at('libp2p', 'block-2s', n, 'before')?.rpcPerCall ?? null,
        block2sBeforeTxPerCall: at('libp2p', 'block-2s', n, 'before')?.settlementTxPerCall ?? null,
        // Deferred against HTTP x402: p50 (target ≤ 0.05) and throughput (target ≥ 10).
        block2sDeferredP50VsHttp: ratio(deferred?.p50Ms, http?.p50Ms),
        block2sDeferredThroughputVsHttp: ratio(deferred?.callsPerSecond, http?.callsPerSecond)
      }
    })(),
    // One buyer, automine: p50 against HTTP x402 (target ≤ 0.4).
    p50OneBuyerVsHttp: ratio(at('libp2p', 'automine', 1)?.p50Ms, at('http-x402', 'automine', 1)?.p50Ms),
    // 2-second blocks: throughput against HTTP x402 at the most buyers measured (target ≥ 1 in `before` mode).
    block2sThroughputVsHttp: (() => {
      const n = Math.max(...cells.filter((c) => c.chain === 'block-2s').map((c) => c.buyers))
      return ratio(at('libp2p', 'block-2s', n)?.callsPerSecond, at('http-x402', 'block-2s', n)?.callsPerSecond)
    })()
  }
  console.log(`paid calls as buyers grow: ${JSON.stringify(summary)}`)
  console.log(`BENCH_JSON ${JSON.stringify({ bench: 'x402-buyers-curve', cells, ratios: summary })}`)
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
} catch (err) {
  console.error('curve bench failed:', err)
  process.exitCode = 1
}
process.exit()
