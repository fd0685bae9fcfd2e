import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { PaymentRequirements } from '@x402/core/types'
import { ExactEvmScheme as ExactEvmClientScheme } from '@x402/evm/exact/client'
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from '@x402/fetch'
import type { Hex } from 'viem'
import type { PaymentAsset, PaymentSigner } from '../src/index.ts'
import { createNode, type Transport } from '../test/fixtures/nodes.ts'

/*
 * The buyers of the benchmarks: N libp2p buyer nodes, or N `@x402/fetch` clients, each with its own wallet, and the
 * check of every paid result. Used in the seller's process (bench/index.ts) or in a process of their own
 * (bench/buyers-process.ts), as deployed buyers would be.
 */

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (b: Uint8Array): string => new TextDecoder().decode(b)

/** Paid calls by buyer index; each throws unless the result and its settlement are right. */
export interface Buyers {
  call(buyer: number): Promise<void>
  stop(): Promise<void>
}

export interface Libp2pBuyersInit {
  transport: Transport
  signers: ReadonlyArray<PaymentSigner & { readonly address: Hex }>
  asset: PaymentAsset
  seller: { peerId: PeerId; addrs: Multiaddr[] }
  price: bigint
  payTo: Hex
  /** 1-trip: the seller's requirements, paid up front. */
  preemptive?: PaymentRequirements | undefined
  /** The seller answers before settling: a result reported `deferred` counts as paid. */
  deferred?: boolean
}

/** One libp2p buyer node per signer, each dialled to the seller (dials retried: a loaded machine times some out). */
export async function libp2pBuyers(init: Libp2pBuyersInit): Promise<Buyers> {
  const { transport, asset, seller, price, payTo, preemptive } = init
  const nodes = await Promise.all(init.signers.map((signer) => createNode({ transport, client: { signer, asset } })))
  for (let i = 0; i < nodes.length; i += 16) {
    await Promise.all(
      nodes.slice(i, i + 16).map(async (node) => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await node.dial(seller.addrs)
          } catch (err) {
            if (attempt >= 4) throw err
          }
        }
      })
    )
  }
  return {
    call: async (b) => {
      const node = nodes[b] as (typeof nodes)[number]
      const r = await node.services.x402Client.call(seller.peerId, 'echo', text('hi'), {
        maxAmount: price,
        payTo,
        signal: AbortSignal.timeout(30_000),
        ...(preemptive != null ? { preemptive } : {})
      })
      const paid = r.settlement?.success === true || (init.deferred === true && r.deferred === true)
      if (str(r.body) !== 'echo:hi' || !paid || r.amount !== price) {
        throw new Error(`bad paid result over ${transport}: ${str(r.body)} ${JSON.stringify(r.settlement)}`)
      }
    },
    stop: async () => {
      await Promise.allSettled(nodes.map((n) => n.stop()))
    }
  }
}

export interface HttpBuyersInit {
  url: string
  network: `${string}:${string}`
  asset: Hex
  price: bigint
  signers: ReadonlyArray<ConstructorParameters<typeof ExactEvmClientScheme>[0]>
}

/** One `@x402/fetch` client (official `x402Client` + `ExactEvmScheme`) per signer. */
export function httpBuyers(init: HttpBuyersInit): Buyers {
  const { url, network, asset, price } = init
  const fetches = init.signers.map((signer) =>
    wrapFetchWithPayment(
      fetch,
      new x402Client()
        .register(network, new ExactEvmClientScheme(signer))
        .setSpendControls({ allowedAssets: [{ network, asset, maxAmountPerPayment: price.toString() }] })
    )
  )
  return {
    call: async (b) => {
      const fetchWithPayment = fetches[b] as (typeof fetches)[number]
      const res = await fetchWithPayment(url, { method: 'POST', body: 'hi', signal: AbortSignal.timeout(30_000) })
      const body = await res.text()
      const header = res.headers.get('PAYMENT-RESPONSE')
      const settlement = header != null ? decodePaymentResponseHeader(header) : undefined
      if (res.status !== 200 || body !== 'echo:hi' || settlement?.success !== true) {
        throw new Error(`bad paid HTTP result: ${res.status} ${body} ${JSON.stringify(settlement)}`)
      }
    },
    stop: async () => {}
  }
}

/** Each buyer's loop: `perBuyer` sequential calls, all buyers at once; the wall time and every call's latency (ms). */
export async function runBuyers(
  buyers: number,
  perBuyer: number,
  call: (buyer: number) => Promise<void>
): Promise<{ ms: number; latencies: number[] }> {
  const latencies: number[] = []
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: buyers }, async (_, b) => {
      for (let i = 0; i < perBuyer; i++) {
        const s = performance.now()
        await call(b)
        latencies.push(performance.now() - s)
      }
    })
  )
  return { ms: performance.now() - t0, latencies }
}
