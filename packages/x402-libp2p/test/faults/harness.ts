import { MemoryDatastore } from 'datastore-core'
import type { Datastore } from 'interface-datastore'
import {
  type Account,
  type Address,
  createPublicClient,
  createWalletClient,
  http,
  type LocalAccount,
  type PublicClient,
  type Transport,
  type Chain as ViemChain,
  type WalletClient
} from 'viem'
import {
  type CallOptions,
  type LocalSettlerInit,
  localSettler,
  type Settler,
  type X402Client,
  type X402ServerInit
} from '../../src/index.ts'
import type { Chain } from '../fixtures/chain.ts'
import { createNode, type X402Node } from '../fixtures/nodes.ts'
import { callUntilOutcome, type PaidCallLog } from './money.ts'
import { RpcProxy } from './rpc-proxy.ts'

export const PRICE = 10_000n
export const text = (s: string): Uint8Array => new TextEncoder().encode(s)
export const str = (b: Uint8Array): string => new TextDecoder().decode(b)

/** Clients that reach the chain through `url` without viem's own retries, so every injected fault bites. */
export function clientsVia(
  chain: Chain,
  url: string,
  account: LocalAccount,
  transport: { retryCount?: number; timeout?: number } = {}
): { publicClient: PublicClient; walletClient: WalletClient<Transport, ViemChain, Account> } {
  const t = http(url, { retryCount: transport.retryCount ?? 0, timeout: transport.timeout ?? 10_000 })
  const publicClient: PublicClient = createPublicClient({
    chain: chain.devnet.chain,
    transport: t,
    pollingInterval: 20
  })
  const walletClient = createWalletClient({ account, chain: chain.devnet.chain, transport: t })
  return { publicClient, walletClient }
}

/** A seller whose settler talks to the chain through an {@link RpcProxy}, serving `job` (counts its runs). */
export interface FaultySeller {
  node: X402Node
  proxy: RpcProxy
  datastore: Datastore
  settler: Settler
  runs: Map<string, number>
  address: Address
  stop(): Promise<void>
}

export async function startFaultySeller(
  chain: Chain,
  account: LocalAccount,
  options: {
    settler?: Partial<LocalSettlerInit>
    server?: X402ServerInit
    transport?: { retryCount?: number; timeout?: number }
    datastore?: Datastore
    inboundConnectionThreshold?: number
  } = {}
): Promise<FaultySeller> {
  const proxy = await RpcProxy.start(chain.devnet.rpcUrl)
  const { publicClient, walletClient } = clientsVia(chain, proxy.url, account, options.transport)
  const settler = localSettler({ walletClient, publicClient, ...options.settler })
  const datastore = options.datastore ?? new MemoryDatastore()
  const node = await createNode({
    datastore,
    server: { settler, asset: chain.asset, ...options.server },
    // Every test peer dials from 127.0.0.1: libp2p's default of 5 new connections per second per host is too few.
    inboundConnectionThreshold: options.inboundConnectionThreshold ?? 100
  })
  const runs = new Map<string, number>()
  node.services.x402Server.register('job', {
    price: { amount: PRICE },
    handler: (req) => {
      runs.set(req.correlationId, (runs.get(req.correlationId) ?? 0) + 1)
      return text(`done:${str(req.body)}`)
    }
  })
  return {
    node,
    proxy,
    datastore,
    settler,
    runs,
    address: account.address,
    async stop() {
      await node.stop()
      await proxy.stop()
    }
  }
}

/** Buyer nodes, one per account (a client signs for one payer). */
export async function startBuyers(
  chain: Chain,
  accounts: readonly LocalAccount[],
  client: { reaskAttempts?: number; reaskDelayMs?: number } = {}
): Promise<Array<{ node: X402Node; account: LocalAccount }>> {
  return Promise.all(
    accounts.map(async (account) => ({
      account,
      node: await createNode({
        client: { signer: account, asset: chain.asset, reaskAttempts: 3, reaskDelayMs: 100, ...client }
      })
    }))
  )
}

/**
 * One paid call of the seller's `job` (price {@link PRICE}, paid to the seller), re-asked with the same correlation id
 * like a buyer does until it has an outcome.
 */
export function payJob(
  client: X402Client,
  payer: Address,
  seller: FaultySeller,
  correlationId: string,
  options: { body?: string; retry?: { deadlineMs?: number; pauseMs?: number }; call?: Partial<CallOptions> } = {}
): Promise<PaidCallLog> {
  return callUntilOutcome(
    client,
    payer,
    seller.node.getMultiaddrs(),
    'job',
    text(options.body ?? correlationId),
    { ...options.call, maxAmount: PRICE, payTo: seller.address, correlationId },
    options.retry
  )
}

/**
 * Connects every buyer to the seller before a burst of concurrent calls (the calls then share one connection each,
 * as in a long-running node; concurrent calls on a connection still being set up are another matter).
 */
export async function connect(
  buyers: ReadonlyArray<{ node: X402Node } | X402Node>,
  seller: FaultySeller
): Promise<void> {
  await Promise.all(buyers.map((b) => ('node' in b ? b.node : b).dial(seller.node.getMultiaddrs())))
}

/** Total handler runs over every correlation id. */
export function totalRuns(runs: Map<string, number>): number {
  return [...runs.values()].reduce((a, b) => a + b, 0)
}
