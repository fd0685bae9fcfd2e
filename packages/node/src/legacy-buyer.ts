/**
 * Buying from a Go Betar node's listing: only when the buyer opts in, because nothing in a legacy listing but its
 * seller peer id is proven (see docs/spec/go-marketplace.md). The usual guards still apply — a price cap (the lower of
 * the caller's and the listed price: a seller asking more is refused before anything is signed), an explicit payee,
 * and the ERC-8004 checks a claimed `tokenId` allows (the agent exists and its agentWallet is the payee).
 */
import { readAgent } from '@betar/identity'
import type { LegacyListing } from '@betar/marketplace-crdt/legacy'
import type { CallResult } from '@betar/x402-libp2p'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { type Address, isAddress, isAddressEqual } from 'viem'
import { NoSellerError } from './errors.ts'
import type { BetarNode } from './node.ts'

/** A legacy listing was to be paid without the buyer's opt-in (`acceptUnverified: true`). Nothing was signed. */
export class LegacyNotAcceptedError extends Error {
  override name = 'LegacyNotAcceptedError'
}

/** A legacy listing cannot be paid safely: no payee, a payee its claimed ERC-8004 agent does not bind, or over the cap. */
export class LegacyPurchaseRefusedError extends Error {
  override name = 'LegacyPurchaseRefusedError'
}

export interface BuyLegacyOptions {
  /** The opt-in: the buyer accepts paying an unverified Go listing. Anything but `true` refuses before signing. */
  acceptUnverified?: boolean
  /** Most the buyer pays, in atomic USDC units; the call is capped at the lower of this and the listed price. */
  maxPrice: bigint
  /**
   * Who must be paid. A Go listing names no payee: give the one you trust; when the listing claims an ERC-8004
   * `tokenId`, it defaults to (and must equal) that agent's on-chain agentWallet.
   */
  payTo?: Address
  correlationId?: string
  signal?: AbortSignal
}

/** The payee of a legacy listing, or why it cannot be paid. */
async function payeeOf(node: BetarNode, listing: LegacyListing, payTo: Address | undefined): Promise<Address> {
  if (payTo != null && !isAddress(payTo)) throw new LegacyPurchaseRefusedError(`payTo is not an address: ${payTo}`)
  if (listing.tokenId == null) {
    if (payTo == null) {
      throw new LegacyPurchaseRefusedError(`${listing.key} names no payee and claims no ERC-8004 agent: pass payTo`)
    }
    return payTo
  }
  let wallet: Address | null
  try {
    ;({ agentWallet: wallet } = await readAgent({
      publicClient: node.clients.publicClient,
      identityRegistry: node.network.erc8004.identityRegistry,
      agentId: BigInt(listing.tokenId)
    }))
  } catch (cause) {
    throw new LegacyPurchaseRefusedError(
      `${listing.key} claims ERC-8004 agent ${listing.tokenId}, which cannot be read: ${(cause as Error).message}`
    )
  }
  if (wallet == null) throw new LegacyPurchaseRefusedError(`ERC-8004 agent ${listing.tokenId} has no agentWallet`)
  if (payTo != null && !isAddressEqual(payTo, wallet)) {
    throw new LegacyPurchaseRefusedError(
      `payTo ${payTo} is not the agentWallet ${wallet} of the claimed ERC-8004 agent ${listing.tokenId}`
    )
  }
  return wallet
}

/**
 * Calls the agent of legacy listing `key` (`<seller>/<agentId>`, from `node.services.legacy.list()`) with `input`,
 * paying it over x402 (a Go node answers on `/x402/libp2p/1.0.0`) — only with `acceptUnverified: true`.
 *
 * @throws LegacyNotAcceptedError without the opt-in; LegacyPurchaseRefusedError (payee, cap); NoSellerError when the
 * listing is not held; what `x402Client.call` throws (e.g. `PaymentNotApprovedError` for a seller asking more)
 */
export async function buyLegacy(
  node: BetarNode,
  key: string,
  input: string,
  options: BuyLegacyOptions
): Promise<CallResult> {
  if (options.acceptUnverified !== true) {
    throw new LegacyNotAcceptedError(
      `${key} is an unverified legacy (Go) listing: pass acceptUnverified: true to pay it anyway`
    )
  }
  const listing = node.services.legacy?.get(key)
  if (listing == null) throw new NoSellerError(`no legacy listing ${key}`)
  if (listing.priceAtomic > options.maxPrice) {
    throw new LegacyPurchaseRefusedError(`${key} lists ${listing.priceAtomic}, over the cap of ${options.maxPrice}`)
  }
  const payTo = await payeeOf(node, listing, options.payTo)
  const seller = peerIdFromString(listing.seller)
  const addrs = listing.multiaddrs.flatMap((a) => {
    try {
      return [multiaddr(`${a}/p2p/${listing.seller}`)]
    } catch {
      return []
    }
  })
  return node.services.x402Client.call(addrs.length > 0 ? addrs : seller, listing.resource, input, {
    maxAmount: listing.priceAtomic,
    payTo,
    metadata: { legacy: { key: listing.key, seller: listing.seller, agentId: listing.agentId } },
    ...(options.correlationId != null ? { correlationId: options.correlationId } : {}),
    ...(options.signal != null ? { signal: options.signal } : {})
  })
}
