import { join } from 'node:path'
import type { BetarNetwork } from '@betar/devnet'
import type { MarketplaceInit } from '@betar/marketplace-crdt'
import type { LegacyMarketplaceInit } from '@betar/marketplace-crdt/legacy'
import { createReputation, ipfsFeedbackStorage, type Reputation, withDataUriSupport } from '@betar/reputation'
import { type BudgetInit, type CallJournal, datastoreCallJournal } from '@betar/x402-libp2p'
import { quic } from '@chainsafe/libp2p-quic'
import { withBitswap } from '@helia/bitswap'
import { withLibp2pLight } from '@helia/libp2p'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import type { AbortOptions, Libp2p, PrivateKey } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { MemoryBlockstore } from 'blockstore-core'
import { LevelBlockstore } from 'blockstore-level'
import { MemoryDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import { createHeliaLight, type Helia } from 'helia'
import type { Datastore } from 'interface-datastore'
import * as jsonCodec from 'multiformats/codecs/json'
import type { Chain, LocalAccount } from 'viem'
import { AgentIds } from './agent-ids.ts'
import { createClients, type NodeClients } from './clients.ts'
import { FeedbackQueue } from './feedback.ts'
import { AgentHealth } from './health.ts'
import { openLevelDatastore } from './level.ts'
import { forgetListen, rememberedListen, rememberListen } from './listen-ports.ts'
import { SellerReachability } from './reachability.ts'
import { SalesLedger } from './sales.ts'
import { type BetarServices, betarServices } from './services.ts'
import { usdcBalance } from './usdc.ts'
import { deferredListingVerifier, workflowListingVerifier } from './workflow.ts'

/** Options of {@link createBetarNode}. */
export interface BetarNodeInit {
  /** Where the node keeps its LevelDB datastore (peer identity, DHT, x402 records, reputation index). In memory when absent. */
  dataDir?: string
  /** The node's libp2p identity. Loaded from (or created in) the datastore when absent. */
  privateKey?: PrivateKey
  /** Chain, USDC and ERC-8004 registries the node trades on. */
  network: BetarNetwork
  rpcUrl: string
  chain: Chain
  /** Pays as a buyer, settles and receives as a seller, owns the agents it sells. */
  wallet: LocalAccount
  /** @default ['/ip4/127.0.0.1/tcp/0'] (add a `/udp/…/quic-v1` address to enable QUIC) */
  listen?: string[]
  /** Peers dialled once started. */
  bootstrap?: string[]
  /** Discover peers on the LAN with mDNS. @default false */
  mdns?: boolean
  /** Marketplace options (topic, TTLs). */
  market?: MarketplaceInit
  /**
   * Bridge to Go Betar marketplaces: read Go listings as unverified legacy listings (`services.legacy`, kept apart
   * from signed ones) and offer ours to Go buyers. `true` for the defaults. Off by default.
   */
  legacy?: boolean | LegacyMarketplaceInit
  /** Client-wide x402 spending cap. */
  budget?: BudgetInit
  /**
   * Act as a circuit relay (v2) for peers that cannot be dialled directly. Every node can already listen through a
   * relay (add `/p2p-circuit` to `listen`) and dial relayed addresses. @default false
   */
  relayServer?: boolean
  /** How often pending feedback is retried in the background (ms; 0: never). @default 15000 */
  feedbackRetryIntervalMs?: number
  /** How often sold agents' executors are health-checked (ms; 0: never). @default 60000 */
  healthCheckIntervalMs?: number
}

/** A running Betar full node: one libp2p host carrying every Betar protocol and Helia. */
export interface BetarNode {
  libp2p: Libp2p<BetarServices>
  helia: Helia
  services: BetarServices
  network: BetarNetwork
  wallet: LocalAccount
  clients: NodeClients
  /** The ERC-8004 reputation index and scorer (feedback files loaded through Helia). */
  reputation: Reputation
  /** Where feedback files go: raw blocks on this node's Helia, served over bitswap. */
  feedbackStorage: ReturnType<typeof ipfsFeedbackStorage>
  /** Every paid call this node made as a buyer, persisted in its datastore (x402 call journal, spec §6.2). */
  journal: CallJournal
  /** Ratings owed after paid calls, given (and retried) apart from the result. */
  feedback: FeedbackQueue
  /** The node's datastore (LevelDB under `dataDir`, else in memory). */
  datastore: Datastore
  /** The ERC-8004 agentIds this node registered, so a restart reuses them. */
  agentIds: AgentIds
  /** What this node sold as a seller (every paid call's outcome, persisted), with per-agent earnings; emits `sale`. */
  sales: SalesLedger
  /** Health checks of the agents this node sells; failing ones are delisted, recovered ones listed again. */
  health: AgentHealth
  peerId: string
  multiaddrs(): Multiaddr[]
  /** Connects to a peer by multiaddr(s). */
  dial(addresses: ReadonlyArray<string | Multiaddr>, options?: AbortOptions): Promise<void>
  /** Sellers this node recently failed to dial: tried after live ones (see `buyService`). */
  reachability: SellerReachability
  /** The on-chain USDC balance of `address` (default: this node's wallet). */
  usdcBalance(address?: `0x${string}`): Promise<bigint>
  stop(): Promise<void>
}

/**
 * Starts a Betar full node: TCP (+ QUIC), Noise, Yamux, identify, ping, the Betar Kademlia DHT, GossipSub, the
 * marketplace, the x402 server (settling with the node's wallet) and client, and Helia with bitswap — all on one
 * libp2p host, with no public bootstrap, relays or gateways.
 */
export async function createBetarNode(init: BetarNodeInit): Promise<BetarNode> {
  const listen = init.listen ?? ['/ip4/127.0.0.1/tcp/0']
  const clients = createClients(init.rpcUrl, init.chain, init.wallet)
  let datastore: MemoryDatastore | LevelDatastore
  let blockstore: MemoryBlockstore | LevelBlockstore
  if (init.dataDir != null) {
    // On disk: the libp2p key, marketplace, x402 records and reputation index (datastore), and the registration and
    // feedback files this node serves over bitswap (blockstore).
    datastore = await openLevelDatastore(join(init.dataDir, 'datastore'))
    const blocks = new LevelBlockstore(join(init.dataDir, 'blocks'))
    await blocks.open()
    blockstore = blocks
  } else {
    datastore = new MemoryDatastore()
    blockstore = new MemoryBlockstore()
  }
  const journal = datastoreCallJournal(datastore)
  // Workflow steps verify listings as buyService does; the check needs Helia, which is built with the services.
  const listingVerifier = deferredListingVerifier()
  const build = (addresses: string[]) =>
    withBitswap(
      withLibp2pLight(createHeliaLight({ blockstore, datastore, codecs: [jsonCodec] }), {
        ...(init.privateKey != null ? { privateKey: init.privateKey } : {}),
        addresses: { listen: addresses },
        transports: [tcp(), ...(addresses.some((a) => a.includes('/quic')) ? [quic()] : []), circuitRelayTransport()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        peerDiscovery: init.mdns === true ? [mdns()] : [],
        services: {
          ...betarServices({
            network: init.network,
            wallet: init.wallet,
            clients,
            market: init.market,
            legacy: init.legacy === true ? {} : init.legacy === false ? undefined : init.legacy,
            budget: init.budget,
            journal,
            verifyListing: listingVerifier.verify
          }),
          // Relayed connections carry whole paid calls (and bitswap), so they are not data- or time-limited.
          ...(init.relayServer === true
            ? { relay: circuitRelayServer({ reservations: { applyDefaultLimit: false } }) }
            : {})
        }
      })
    )
  // A persistent node asks for the ports it had last time (see listen-ports.ts); if one is taken now, it starts on the
  // configured addresses and remembers the new ports.
  const remembered = init.dataDir != null ? await rememberedListen(datastore, listen) : listen
  let helia = build(remembered)
  try {
    await helia.start()
  } catch (err) {
    if (remembered.every((a, i) => a === listen[i])) throw err
    await helia.stop().catch(() => {})
    await forgetListen(datastore)
    helia = build(listen)
    await helia.start()
  }
  if (init.dataDir != null) await rememberListen(datastore, listen, helia.libp2p.getMultiaddrs())
  const libp2p = helia.libp2p as unknown as Libp2p<BetarServices>
  listingVerifier.set(
    workflowListingVerifier({
      publicClient: clients.publicClient,
      identityRegistry: init.network.erc8004.identityRegistry,
      helia
    })
  )
  const feedbackStorage = ipfsFeedbackStorage(helia.blockstore)
  const reputation = createReputation({
    publicClient: clients.publicClient,
    identityRegistry: init.network.erc8004.identityRegistry,
    reputationRegistry: init.network.erc8004.reputationRegistry,
    asset: init.network.usdc.address,
    assetDecimals: init.network.usdc.decimals,
    datastore,
    load: withDataUriSupport(feedbackStorage.load)
  })
  const dial = async (addresses: ReadonlyArray<string | Multiaddr>, options: AbortOptions = {}) => {
    await libp2p.dial(
      addresses.map((a) => (typeof a === 'string' ? multiaddr(a) : a)),
      options
    )
  }
  const feedback = new FeedbackQueue({
    datastore,
    clients,
    store: feedbackStorage.store,
    ...(init.feedbackRetryIntervalMs != null ? { retryIntervalMs: init.feedbackRetryIntervalMs } : {})
  })
  feedback.start()
  const health = new AgentHealth({
    market: libp2p.services.market,
    x402: libp2p.services.x402,
    ...(init.healthCheckIntervalMs != null ? { intervalMs: init.healthCheckIntervalMs } : {})
  })
  // Paid calls that fail in the handler count against the agent's health (the probe cannot see every failure).
  const x402 = libp2p.services.x402
  const outcome = (name: string, ok: boolean, payer: string) => void health.callOutcome(name, ok, payer).catch(() => {})
  x402.addEventListener('call:completed', (e) => outcome(e.detail.resource, true, e.detail.payer))
  x402.addEventListener('payment:refunded', (e) => outcome(e.detail.resource, false, e.detail.payer))
  x402.addEventListener('payment:failed', (e) => {
    if (e.detail.error?.codeName === 'EXECUTION_FAILED') outcome(e.detail.resource, false, e.detail.payer)
  })
  const sales = new SalesLedger(datastore)
  sales.attach(x402)
  for (const address of init.bootstrap ?? []) await dial([address])
  return {
    libp2p,
    helia,
    services: libp2p.services,
    network: init.network,
    wallet: init.wallet,
    clients,
    reputation,
    feedbackStorage,
    journal,
    feedback,
    datastore,
    agentIds: new AgentIds(datastore),
    sales,
    reachability: new SellerReachability(),
    health,
    peerId: libp2p.peerId.toString(),
    multiaddrs: () => libp2p.getMultiaddrs(),
    dial,
    usdcBalance: (address = init.wallet.address) => usdcBalance(clients.publicClient, init.network, address),
    async stop() {
      feedback.stop()
      health.stop()
      await helia.stop()
      sales.detach()
      await sales.flush()
      if (datastore instanceof LevelDatastore) await datastore.close()
      if (blockstore instanceof LevelBlockstore) await blockstore.close()
    }
  }
}
