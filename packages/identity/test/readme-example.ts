/**
 * The README example, runnable from this package with
 * `node --conditions=@betar/source --import tsx test/readme-example.ts`, and run by `readme-example.test.ts`.
 * Starts the devnet and two offline Helia nodes, registers an agent, binds its wallet, and verifies a listing from
 * the other node.
 */
import '../../../tools/polyfills.ts' // Node 20: Promise.withResolvers for libp2p/helia internals
import { startDevnet } from '@betar/devnet'
import { withBitswap } from '@helia/bitswap'
import { withLibp2pLight } from '@helia/libp2p'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { MemoryBlockstore } from 'blockstore-core'
import { MemoryDatastore } from 'datastore-core'
import { createHeliaLight } from 'helia'
import * as jsonCodec from 'multiformats/codecs/json'
import { createPublicClient, createWalletClient, http } from 'viem'
import {
  bindAgentWallet,
  buildRegistrationFile,
  formatAgentRegistry,
  registerAgent,
  verifyListing
} from '../src/index.ts'

async function heliaNode() {
  const helia = withBitswap(
    withLibp2pLight(
      createHeliaLight({ blockstore: new MemoryBlockstore(), datastore: new MemoryDatastore(), codecs: [jsonCodec] }),
      {
        addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        peerDiscovery: [],
        services: { identify: identify() }
      }
    )
  )
  await helia.start()
  return helia
}

/** Runs the example and returns what it printed. */
export async function runExample() {
  const devnet = await startDevnet({ accounts: 2 })
  const [seller, buyer] = await Promise.all([heliaNode(), heliaNode()])
  try {
    const [owner, payout] = devnet.accounts
    if (owner == null || payout == null) throw new Error('devnet has too few accounts')
    const publicClient = createPublicClient({ chain: devnet.chain, transport: http(devnet.rpcUrl) })
    const walletClient = createWalletClient({
      account: owner.account,
      chain: devnet.chain,
      transport: http(devnet.rpcUrl)
    })
    const identityRegistry = devnet.contracts.identityRegistry

    // 1. the seller registers: register() → agentId → file with its registration → Helia → setAgentURI(ipfs://…)
    const file = buildRegistrationFile({
      name: 'summarizer',
      description: 'Summarises text for USDC over x402-libp2p',
      peerId: seller.libp2p.peerId,
      multiaddrs: seller.libp2p.getMultiaddrs(),
      x402Support: true
    })
    const { agentId, uri } = await registerAgent({ walletClient, publicClient, identityRegistry, file, helia: seller })

    // 2. payments go to a separate wallet, which proves it agrees with an EIP-712 signature
    await bindAgentWallet({ walletClient, publicClient, identityRegistry, agentId, wallet: payout.account })

    // 3. a buyer connected to the seller verifies the seller's listing (the file comes over bitswap)
    const firstAddress = seller.libp2p.getMultiaddrs()[0]
    if (firstAddress == null) throw new Error('seller has no address')
    await buyer.libp2p.dial(firstAddress)
    const now = Date.now()
    const result = await verifyListing(
      {
        v: 1,
        kind: 'listing',
        id: 'summarize',
        seller: seller.libp2p.peerId.toString(),
        multiaddrs: [],
        protocols: ['/x402/libp2p/2.0.0'],
        resource: 'summarize',
        name: 'Summarizer',
        description: 'Summarises text',
        capabilities: ['summarize'],
        price: {
          scheme: 'exact',
          network: `eip155:${devnet.chainId}`,
          amount: '10000',
          asset: devnet.contracts.usdc,
          payTo: payout.address,
          maxTimeoutSeconds: 60,
          extra: { name: 'USD Coin', version: '2' }
        },
        erc8004: { agentId: agentId.toString(), agentRegistry: formatAgentRegistry(devnet.chainId, identityRegistry) },
        createdAt: now,
        updatedAt: now,
        expiresAt: now + 60_000
      },
      { publicClient, identityRegistry, helia: buyer }
    )
    const summary = { agentId, uri, ok: result.ok, reasons: result.ok ? [] : result.reasons.map((r) => r.code) }
    console.log(summary)
    return summary
  } finally {
    await Promise.all([seller.stop(), buyer.stop()])
    await devnet.stop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runExample()
