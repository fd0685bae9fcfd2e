/**
 * @packageDocumentation
 *
 * A Betar node as a library: one libp2p host with TCP (+ QUIC), Noise, Yamux, the Betar DHT, GossipSub, the
 * marketplace, x402 over libp2p and Helia, plus the seller and buyer flows that tie ERC-8004 identity, payments and
 * reputation together. The `betar` CLI, the local REST API and the dashboard (`examples/full-node`) are built on it.
 *
 * @example
 * ```ts
 * import { buyService, createBetarNode, sellAgent } from '@betar/node'
 *
 * const seller = await createBetarNode({ network, rpcUrl, chain, wallet: sellerAccount, dataDir: './seller' })
 * const buyer = await createBetarNode({ network, rpcUrl, chain, wallet: buyerAccount, bootstrap: seller.multiaddrs().map(String) })
 * await sellAgent(seller, { name: 'text-stats', description: 'Counts words', capabilities: ['text-analysis'],
 *   price: { amount: '250000' }, executor: { kind: 'echo' } })
 * const purchase = await buyService(buyer, 'text-analysis', 'Some text.', {
 *   maxPrice: 500_000n,
 *   onProgress: (event) => console.error(event.type)
 * })
 * ```
 */

// First: installs the Node 20 shims (see node20.ts) before anything else runs.
import './node20.ts'

export { type BuyServiceOptions, buyService, type Purchase, resumePurchase } from './buyer.ts'
export { createClients, type NodeClients } from './clients.ts'
export { FeedbackQueue, type FeedbackQueueInit, InsufficientGasError } from './feedback.ts'
export { AgentHealth, type AgentHealthInit, type AgentHealthStatus, type WatchedAgent } from './health.ts'
export {
  type BuyLegacyOptions,
  buyLegacy,
  LegacyNotAcceptedError,
  LegacyPurchaseRefusedError
} from './legacy-buyer.ts'
export { type BetarNode, type BetarNodeInit, createBetarNode } from './node.ts'
export { connectedPeers, NO_PEERS_HINT } from './peers.ts'
export type { BuyProgress, BuyProgressHandler } from './progress.ts'
export { SellerReachability } from './reachability.ts'
export { delistUnsold, type SellAgentOptions, type SoldAgent, sellAgent } from './seller.ts'
export { BETAR_KAD_PROTOCOL, type BetarServices, betarServices, paymentAsset } from './services.ts'
// Everything that needs no running node (errors, USDC helpers, datastore records) is also `@betar/node/utils`.
export * from './utils.ts'
export { workflowSummary, workflowsOf, workflowView } from './workflow.ts'
