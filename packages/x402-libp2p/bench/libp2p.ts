import type { DevnetAccount } from '@betar/devnet'
import { createPublicClient, createWalletClient } from 'viem'
import { localSettler, type PaymentAsset, type Settler } from '../src/index.ts'
import { createNode, type Transport } from '../test/fixtures/nodes.ts'
import { libp2pBuyers } from './buyers.ts'
import { startRemoteBuyers } from './remote-buyers.ts'
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
 * `call(b)` is a paid call by buyer `b` — or, with `buyersProcess`, the buyers run in a process of their own and
 * `run(perBuyer)` runs all their loops there.
 */
export async function startLibp2pMany(
  chain: Omit<StackChain, 'payer'> & { payers: readonly DevnetAccount[] },
  transport: Transport = 'tcp',
  mode: Mode = '1-trip',
  options: {
    batch?: boolean
    settlement?: 'before' | 'deferred'
    /** Run the buyer nodes in a process of their own (bench/buyers-process.ts): the stack then has `run`. */
    buyersProcess?: boolean
  } = {}
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
  const payTo = sellerAccount.address
  // 1-trip: the buyer already holds the seller's requirements (e.g. from its listing).
  const preemptive = mode === '1-trip' ? seller.services.x402Server.requirements('echo')[0] : undefined
  const deferred = options.settlement === 'deferred'
  const remote =
    options.buyersProcess === true
      ? await startRemoteBuyers({
          stack: 'libp2p',
          transport,
          privateKeys: payers.map((p) => p.privateKey),
          asset,
          seller: { peerId: seller.peerId.toString(), addrs: seller.getMultiaddrs().map(String) },
          price: PRICE.toString(),
          payTo,
          ...(preemptive != null ? { preemptive } : {}),
          deferred
        })
      : undefined
  const buyers =
    remote == null
      ? await libp2pBuyers({
          transport,
          signers: payers.map((payer) => timedSigner(payer.account, profile, () => clock.callStart)),
          asset,
          seller: { peerId: seller.peerId, addrs: seller.getMultiaddrs() },
          price: PRICE,
          payTo,
          preemptive,
          deferred
        })
      : undefined

  return {
    name: `libp2p ${mode} ${transport}`,
    profile,
    call: async (b = 0) => {
      clock.callStart = performance.now()
      if (buyers == null) throw new Error('the buyers run in their own process: use run()')
      await buyers.call(b)
    },
    ...(remote != null ? { run: (perBuyer: number) => remote.run(perBuyer) } : {}),
    stop: async () => {
      await Promise.allSettled([buyers?.stop(), remote?.stop(), seller.stop()])
    }
  }
}
