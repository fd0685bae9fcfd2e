import '../../../tools/polyfills.ts'
/**
 * Transport overhead of a call (issue 14, stream reuse): a free call, and a 1-trip paid call whose verification and
 * settlement are instant (a stub settler) and whose signature is a constant (a stub signer) — so what is measured is
 * libp2p (TCP + Noise + Yamux on loopback), framing and the call pipeline, no chain and no elliptic curves. Buyer and
 * seller run in this process: CPU per call is both sides'.
 *
 * Prints one `BENCH_TRANSPORT {…}` line per measurement. BENCH_TRANSPORT_CALLS=<n> changes the calls per
 * measurement; BENCH_TRANSPORT_SESSIONS=0 makes the buyer open a stream per call (the `/x402/libp2p/2.0.0` way).
 */
import type { PaymentRequirements } from '@x402/core/types'
import type { Hex } from 'viem'
import type { PaymentAsset, PaymentSigner, Settler } from '../src/index.ts'
import { createNode } from '../test/fixtures/nodes.ts'
import { percentile, round } from './stats.ts'

const CALLS = Number(process.env.BENCH_TRANSPORT_CALLS ?? 2000)
const SESSIONS = process.env.BENCH_TRANSPORT_SESSIONS !== '0'
const asset: PaymentAsset = {
  network: 'eip155:31337',
  address: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  name: 'USD Coin',
  version: '2'
}
const payTo = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as const
const payer = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' as const

/** Verifies and settles everything at once: no chain. */
const settler: Settler = {
  name: 'stub',
  payTo,
  refunder: {
    address: payTo,
    refund: async (_, attempt) => ({ status: 'pending', attempt })
  },
  verify: async () => ({ isValid: true, payer }),
  settle: async (_payload, requirements, attempt) => ({
    status: 'settled',
    attempt,
    settlement: { success: true, transaction: `0x${'ab'.repeat(32)}`, network: requirements.network, payer }
  })
}

/** Signs nothing: a constant 65-byte signature (the stub settler checks none). */
const signer: PaymentSigner = {
  address: payer,
  signTypedData: async () => `0x${'11'.repeat(64)}1b` as Hex
}

const cpuMs = (): number => {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

async function measure(
  name: string,
  concurrency: number,
  call: () => Promise<void>
): Promise<Record<string, number | string>> {
  for (let i = 0; i < 50; i++) await call()
  const latencies: number[] = []
  let next = 0
  const cpu0 = cpuMs()
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < CALLS) {
        next++
        const s = performance.now()
        await call()
        latencies.push(performance.now() - s)
      }
    })
  )
  const ms = performance.now() - t0
  return {
    call: name,
    concurrency,
    sessions: SESSIONS ? 'yes' : 'no',
    callsPerSecond: round((CALLS * 1000) / ms),
    p50Ms: round(percentile(latencies, 50), 3),
    p99Ms: round(percentile(latencies, 99), 3),
    cpuMsPerCall: round((cpuMs() - cpu0) / CALLS, 3)
  }
}

// Far above the default 1,000 requests per peer per second: a session carries more.
const seller = await createNode({ server: { settler, asset, rateLimitPerSecond: 1_000_000 } })
const buyer = await createNode({ client: { signer, asset, sessions: SESSIONS } })
try {
  seller.services.x402Server.register('free', { price: null, handler: (req) => req.body })
  seller.services.x402Server.register('paid', { price: { amount: 1000n }, handler: (req) => req.body })
  const requirements: PaymentRequirements = seller.services.x402Server.requirements('paid')[0] as PaymentRequirements
  await buyer.dial(seller.getMultiaddrs())
  const body = new TextEncoder().encode('hi')
  const x402 = buyer.services.x402Client
  const free = async (): Promise<void> => {
    await x402.call(seller.peerId, 'free', body)
  }
  const paid = async (): Promise<void> => {
    await x402.call(seller.peerId, 'paid', body, { maxAmount: 1000n, payTo, preemptive: requirements })
  }
  for (const [name, call] of [
    ['free', free],
    ['paid 1-trip', paid]
  ] as const) {
    for (const concurrency of [1, 16]) {
      console.log(`BENCH_TRANSPORT ${JSON.stringify(await measure(name, concurrency, call))}`)
    }
  }
} finally {
  await Promise.allSettled([buyer.stop(), seller.stop()])
}
