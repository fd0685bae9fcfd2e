/**
 * @packageDocumentation
 *
 * The Betar full node: one libp2p host with TCP (+ QUIC), Noise, Yamux, the Betar DHT, GossipSub, the marketplace,
 * x402 over libp2p and Helia, plus the seller and buyer flows that tie identity, payments and reputation together.
 */

export * from './api/index.ts'
export {
  type BuyServiceOptions,
  buyService,
  type Purchase,
  type PurchaseMetadata,
  purchaseMetadata,
  resumePurchase
} from './buyer.ts'
export { createClients, type NodeClients } from './clients.ts'
export {
  AgentUnhealthyError,
  DataDirInUseError,
  ListingVerificationError,
  NoSellerError,
  ReputationTooLowError,
  SellerUnreachableError
} from './errors.ts'
export {
  type FeedbackJob,
  FeedbackQueue,
  type FeedbackQueueInit,
  type FeedbackStorage,
  InsufficientGasError,
  readFeedbackJob
} from './feedback.ts'
export { AgentHealth, type AgentHealthInit, type AgentHealthStatus, type WatchedAgent } from './health.ts'
export { type BetarNode, type BetarNodeInit, createBetarNode } from './node.ts'
export { SellerReachability } from './reachability.ts'
export { type AgentEarnings, type SaleRecord, SalesLedger, type SalesQuery } from './sales.ts'
export { delistUnsold, type SellAgentOptions, type SoldAgent, sellAgent } from './seller.ts'
export { BETAR_KAD_PROTOCOL, type BetarServices, betarServices, paymentAsset } from './services.ts'
export { formatUsdc, usdcBalance } from './usdc.ts'
