import { type Devnet, startDevnet } from '@betar/devnet'
import type { AgentConfig } from '@betar/executor'
import { type BetarNode, type BetarNodeInit, createBetarNode, type SoldAgent } from '../src/index.ts'

/** The deterministic offline agent the tests sell: 0.25 USDC per job. */
export const textStatsAgent: AgentConfig = {
  name: 'text-stats',
  description: 'Counts words, characters and sentences, extracts keywords and a one-line summary',
  capabilities: ['text-analysis'],
  price: { amount: '250000' },
  executor: { kind: 'echo' }
}

/** A Betar node on the devnet, paying and settling with devnet account `index`. */
export function nodeOn(
  devnet: Devnet,
  index: number,
  init: Partial<Omit<BetarNodeInit, 'network' | 'rpcUrl' | 'chain' | 'wallet'>> = {}
): Promise<BetarNode> {
  const account = devnet.accounts[index]
  if (account == null) throw new Error(`devnet has no account ${index}`)
  return createBetarNode({
    network: devnet.network,
    rpcUrl: devnet.rpcUrl,
    chain: devnet.chain,
    wallet: account.account,
    ...init
  })
}

export { startDevnet }

/** Polls until `check` passes. */
export async function eventually(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/**
 * Publishes, from the seller's node, a listing that claims the seller's ERC-8004 agent but asks to be paid at
 * `payTo` (not the agent wallet): what a buyer must refuse with `PAYTO_NOT_AGENT_WALLET`.
 */
export function publishForgedPayeeListing(
  seller: BetarNode,
  devnet: Devnet,
  sold: SoldAgent,
  payTo: `0x${string}`
): Promise<void> {
  return publishClaimingListing(seller, devnet, sold, {
    id: 'forged',
    capability: 'forged-payee',
    payTo,
    amount: '1000'
  })
}

/**
 * Publishes, from the seller's node, a listing for the seller's ERC-8004 agent (the `text-stats` resource) with the
 * given capability, payee and listed price — e.g. a price below what the resource really asks.
 */
export async function publishClaimingListing(
  seller: BetarNode,
  devnet: Devnet,
  sold: SoldAgent,
  listing: { id: string; capability: string; payTo: `0x${string}`; amount: string }
): Promise<void> {
  const { usdc, caip2 } = devnet.network
  const { payTo } = listing
  await seller.services.market.publish({
    id: listing.id,
    resource: textStatsAgent.name,
    name: listing.id,
    description: `claims the agent (${listing.capability})`,
    capabilities: [listing.capability],
    price: {
      scheme: 'exact',
      network: caip2,
      amount: listing.amount,
      asset: usdc.address,
      payTo,
      maxTimeoutSeconds: 300,
      extra: { name: usdc.name, version: usdc.version }
    },
    erc8004: { agentId: sold.registration.agentId.toString(), agentRegistry: sold.registration.agentRegistry }
  })
}
