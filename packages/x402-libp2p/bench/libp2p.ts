import type { DevnetAccount } from '@betar/devnet'
import { createPublicClient, createWalletClient } from 'viem'
import { localSettler, type PaymentAsset, type Settler } from '../src/index.ts'
import { createNode, type Transport } from '../test/fixtures/nodes.ts'
import { countingHttp, POLLING_INTERVAL_MS, PRICE, Profile, type Stack, type StackChain, timedSigner } from './stats.ts'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (b: Uint8Array): string => new TextDecoder().decode(b)

/** `2-trip`: REQUEST → PAYMENT_REQUIRED (challenge) → PAID_REQUEST. `1-trip`: PAID_REQUEST up front (preemptive). */
export type Mode = '2-trip' | '1-trip'

/**
 * A seller node (the `echo` resource, settled by its own wallet with {@link localSettler}) and a buyer node, connected
 * over `transport` on 127.0.0.1. Verify and settle are timed and every JSON-RPC request is counted.
 */
export function startLibp2p(chain: StackChain, transport: Transport, mode: Mode): Promise<Stack> {
  return startLibp2pMany({ devnet: chain.devnet, seller: chain.seller, payers: [chain.payer] }, transport, mode)
}

/**
 * {@link startLibp2p} with one buyer node per payer (distinct wallets and libp2p nodes, each connected to the seller);
 * `call(b)` is a paid call by buyer `b`.
 */
export async function startLibp2pMany(
  chain: Omit<StackChain, 'payer'> & { payers: readonly DevnetAccount[] },
  transport: Transport = 'tcp',
  mode: Mode = '1-trip',
  options: { batch?: boolean; settlement?: 'before' | 'deferred' } = {}
): Promise<Stack> {
  const { devnet, seller: sellerAccount, payers } = chain
  const asset: PaymentAsset = {
    network: devnet.network.caip2,
    address: devnet.network.usdc.address,
    name: devnet.network.usdc.name,
    version: devnet.network.usdc.version
  }
  const profile = new Profile()
  const clock = { callStart: 0, verifyEnd: 0, settleEnd: 0 }

  const rpc = countingHttp(devnet.rpcUrl, profile)
  const local = localSettler({
    walletClient: createWalletClient({
      account: sellerAccount.account,
      chain: devnet.chain,
      transport: rpc,
      pollingInterval: POLLING_INTERVAL_MS
    }),
    publicClient: createPublicClient({ chain: devnet.chain, transport: rpc, pollingInterval: POLLING_INTERVAL_MS }),
    ...(options.batch === true ? { batch: true } : {}),
    // On a devnet that mines on demand the broadcast is answered with its receipt (a no-op with 2-second blocks).
    syncBroadcast: true
  })
  const settler: Settler = {
    ...local,
    verify: async (payload, requirements, options) => {
      const verdict = await profile.time('server: verify', () => local.verify(payload, requirements, options))
      clock.verifyEnd = performance.now()
      return verdict
    },
    settle: async (payload, requirements, attempt, options) => {
      profile.add('server: verify → settle', performance.now() - clock.verifyEnd)
      const result = await profile.time('server: settle', () => local.settle(payload, requirements, attempt, options))
      clock.settleEnd = performance.now()
      return result
    }
  }

  const seller = await createNode({ transport, server: { settler, asset }, inboundConnectionThreshold: 10_000 })
  const buyers = await Promise.all(
    payers.map((payer) =>
      createNode({ transport, client: { signer: timedSigner(payer.account, profile, () => clock.callStart), asset } })
    )
  )
  seller.services.x402Server.register('echo', {
    price: { amount: PRICE },
    description: 'echoes its input',
    ...(options.settlement != null ? { settlement: options.settlement } : {}),
    handler: (req) => {
      profile.add('server: settle → handler', performance.now() - clock.settleEnd)
      return text(`echo:${str(req.body)}`)
    }
  })
  // Refusals the buyers' clients re-ask past (SERVICE_UNAVAILABLE, RATE_LIMITED, …), counted per call.
  seller.services.x402Server.addEventListener('payment:failed', (e) => {
    profile.count(`refused:${e.detail.error?.codeName ?? 'void'}`)
  })
  for (let i = 0; i < buyers.length; i += 16) {
    // A loaded machine can time a handshake out: dial again (the bench measures calls, not dials).
    await Promise.all(
      buyers.slice(i, i + 16).map(async (b) => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await b.dial(seller.getMultiaddrs())
          } catch (err) {
            if (attempt >= 4) throw err
          }
        }
      })
    )
  }
  const payTo = sellerAccount.address
  // 1-trip: the buyer already holds the seller's requirements (e.g. from its listing).
  const preemptive = mode === '1-trip' ? seller.services.x402Server.requirements('echo')[0] : undefined

  return {
    name: `libp2p ${mode} ${transport}`,
    profile,
    call: async (b = 0) => {
      clock.callStart = performance.now()
      const buyer = buyers[b] as (typeof buyers)[number]
      const r = await buyer.services.x402Client.call(seller.peerId, 'echo', text('hi'), {
        maxAmount: PRICE,
        payTo,
        signal: AbortSignal.timeout(30_000),
        ...(preemptive != null ? { preemptive } : {})
      })
      const paid = r.settlement?.success === true || (options.settlement === 'deferred' && r.deferred === true)
      if (str(r.body) !== 'echo:hi' || !paid || r.amount !== PRICE) {
        throw new Error(`bad paid result over ${transport}: ${str(r.body)} ${JSON.stringify(r.settlement)}`)
      }
    },
    stop: async () => {
      await Promise.allSettled([...buyers.map((b) => b.stop()), seller.stop()])
    }
  }
}
