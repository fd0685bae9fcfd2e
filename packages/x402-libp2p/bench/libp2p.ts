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
export async function startLibp2p(chain: StackChain, transport: Transport, mode: Mode): Promise<Stack> {
  const { devnet, seller: sellerAccount, payer } = chain
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
    publicClient: createPublicClient({ chain: devnet.chain, transport: rpc, pollingInterval: POLLING_INTERVAL_MS })
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

  const seller = await createNode({ transport, server: { settler, asset } })
  const buyer = await createNode({
    transport,
    client: { signer: timedSigner(payer.account, profile, () => clock.callStart), asset }
  })
  seller.services.x402Server.register('echo', {
    price: { amount: PRICE },
    description: 'echoes its input',
    handler: (req) => {
      profile.add('server: settle → handler', performance.now() - clock.settleEnd)
      return text(`echo:${str(req.body)}`)
    }
  })
  await buyer.dial(seller.getMultiaddrs())
  const payTo = sellerAccount.address
  // 1-trip: the buyer already holds the seller's requirements (e.g. from its listing).
  const preemptive = mode === '1-trip' ? seller.services.x402Server.requirements('echo')[0] : undefined

  return {
    name: `libp2p ${mode} ${transport}`,
    profile,
    call: async () => {
      clock.callStart = performance.now()
      const r = await buyer.services.x402Client.call(seller.peerId, 'echo', text('hi'), {
        maxAmount: PRICE,
        payTo,
        signal: AbortSignal.timeout(30_000),
        ...(preemptive != null ? { preemptive } : {})
      })
      if (str(r.body) !== 'echo:hi' || r.settlement?.success !== true || r.amount !== PRICE) {
        throw new Error(`bad paid result over ${transport}: ${str(r.body)} ${JSON.stringify(r.settlement)}`)
      }
    },
    stop: async () => {
      await Promise.allSettled([buyer.stop(), seller.stop()])
    }
  }
}
