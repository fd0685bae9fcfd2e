import type { Listing } from '@betar/marketplace-crdt'
import { InsufficientFundsError, NoSellerError } from './errors.ts'
import type { BetarNode } from './node.ts'
import { connectedPeers, NO_PEERS_HINT } from './peers.ts'
import { formatUsdc } from './usdc.ts'

/** The error for "no listing offers `capability` within `maxPrice` (atomic units)", saying so when no peer is known. */
export function noSellerError(node: BetarNode, capability: string, maxPrice: bigint): NoSellerError {
  const peers = connectedPeers(node)
  const base = `no seller offers "${capability}" for at most ${formatUsdc(maxPrice, node.network.usdc.decimals)}`
  return new NoSellerError(peers === 0 ? `${base}: ${NO_PEERS_HINT}` : base, { connectedPeers: peers })
}

/**
 * Refuses, before anything is signed, a purchase the wallet cannot pay: the lower of the listed price and `maxPrice`
 * (atomic units) against the on-chain USDC balance. Throws {@link InsufficientFundsError}.
 */
export async function assertCanPay(node: BetarNode, listing: Listing, maxPrice: bigint): Promise<void> {
  const listed = BigInt(listing.price.amount)
  const price = listed < maxPrice ? listed : maxPrice
  const balance = await node.usdcBalance()
  if (balance >= price) return
  const { decimals } = node.network.usdc
  const devnet = node.network.name === 'devnet' ? ' (on the devnet: POST /faucet or `betar-devnet fund <address>`)' : ''
  throw new InsufficientFundsError(
    node.wallet.address,
    balance,
    price,
    `insufficient USDC: wallet ${node.wallet.address} holds ${formatUsdc(balance, decimals)}, the job costs ` +
      `${formatUsdc(price, decimals)}; fund the wallet${devnet}`
  )
}
