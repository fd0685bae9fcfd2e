import type { BetarNetwork } from '@betar/devnet'
import {
  MARKETPLACE_SCORE_THRESHOLDS,
  type Marketplace,
  type MarketplaceInit,
  marketplace,
  marketplaceScoreParams
} from '@betar/marketplace-crdt'
import { type LegacyMarketplace, type LegacyMarketplaceInit, legacyMarketplace } from '@betar/marketplace-crdt/legacy'
import { type Workflows, type WorkflowsInit, workflows } from '@betar/workflow'
import {
  type BudgetInit,
  type CallJournal,
  localSettler,
  type PaymentAsset,
  type X402Client,
  type X402Server,
  x402Client,
  x402Server
} from '@betar/x402-libp2p'
import { type GossipSub, gossipsub } from '@libp2p/gossipsub'
import { type Identify, identify } from '@libp2p/identify'
import { type KadDHT, kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { type Ping, ping } from '@libp2p/ping'
import type { LocalAccount } from 'viem'
import type { NodeClients } from './clients.ts'

/** The Kademlia protocol of the Betar network (a private DHT, separate from the public IPFS one). */
export const BETAR_KAD_PROTOCOL = '/betar/kad/1.0.0'

/** The libp2p services every Betar node runs. */
// A type alias, not an interface: libp2p's ServiceMap needs an implicit index signature.
export type BetarServices = {
  identify: Identify
  ping: Ping
  dht: KadDHT
  pubsub: GossipSub
  market: Marketplace
  x402: X402Server
  x402Client: X402Client
  /** Paid multi-agent workflows (`@betar/workflow`), present when the node journals its calls (it always does). */
  workflow?: Workflows
  /** The bridge to Go Betar marketplaces, when enabled (`legacy`): unverified legacy listings, our listings for Go. */
  legacy?: LegacyMarketplace
}

/** The USDC of a network as the x402 payment asset. */
export function paymentAsset(network: BetarNetwork): PaymentAsset {
  const { address, name, version } = network.usdc
  return { network: network.caip2, address, name, version }
}

export interface ServicesInit {
  network: BetarNetwork
  wallet: LocalAccount
  clients: NodeClients
  market?: MarketplaceInit | undefined
  /** Run the Go marketplace bridge (off by default: Go listings are unauthenticated). */
  legacy?: LegacyMarketplaceInit | undefined
  budget?: BudgetInit | undefined
  /** The buyer's call journal (the node's datastore). */
  journal?: CallJournal | undefined
  /** Checks a listing before a workflow step pays its seller (the node's ERC-8004 verification). */
  verifyListing?: WorkflowsInit['verifyListing'] | undefined
}

/** The service factories of a Betar node (passed to `createLibp2p`). */
export function betarServices(init: ServicesInit) {
  const asset = paymentAsset(init.network)
  return {
    identify: identify(),
    ping: ping(),
    dht: kadDHT({ protocol: BETAR_KAD_PROTOCOL, clientMode: false, peerInfoMapper: passthroughMapper }),
    // Peer scoring: the marketplace installs its topics' parameters (invalid updates penalised) as it joins them; these
    // thresholds graylist a peer after 10 invalid updates (see @betar/marketplace-crdt's MARKETPLACE_TOPIC_SCORE_PARAMS).
    pubsub: gossipsub({
      allowPublishToZeroTopicPeers: true,
      scoreParams: marketplaceScoreParams(),
      scoreThresholds: MARKETPLACE_SCORE_THRESHOLDS
    }),
    market: marketplace(init.market),
    ...(init.legacy != null ? { legacy: legacyMarketplace(init.legacy) } : {}),
    x402: x402Server({
      settler: localSettler({
        walletClient: init.clients.walletClient,
        publicClient: init.clients.publicClient,
        nonceManager: init.clients.nonceManager
      }),
      asset
    }),
    x402Client: x402Client({
      signer: init.wallet,
      asset,
      // Settlements are checked on-chain before a result counts as paid (and before feedback cites it).
      publicClient: init.clients.publicClient,
      ...(init.budget != null ? { budget: init.budget } : {}),
      ...(init.journal != null ? { journal: init.journal } : {})
    }),
    // Workflows buy through x402Client from market listings; they need the journal to never pay a step twice.
    ...(init.journal != null
      ? {
          workflow: workflows({
            journal: init.journal,
            asset,
            publicClient: init.clients.publicClient,
            ...(init.verifyListing != null ? { verifyListing: init.verifyListing } : {})
          })
        }
      : {})
  }
}
