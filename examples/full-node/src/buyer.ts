import { type VerifyListingResult, verifyListing } from '@betar/identity'
import type { Listing } from '@betar/marketplace-crdt'
import {
  type GiveFeedbackResult,
  giveFeedback,
  type ProofOfPayment,
  STARRED_TAG,
  type TagSummary
} from '@betar/reputation'
import type { CallResult } from '@betar/x402-libp2p'
import { multiaddr } from '@multiformats/multiaddr'
import type { Address } from 'viem'
import { ListingVerificationError, MissingSettlementError, NoSellerError, ReputationTooLowError } from './errors.ts'
import type { BetarNode } from './node.ts'

/** Options of {@link buyService}. */
export interface BuyServiceOptions {
  /**
   * Most the buyer pays, in atomic USDC units: listings above it are skipped, and the x402 call is capped at the
   * lower of this and the listing's signed price (a seller asking more than it listed is refused before signing).
   */
  maxPrice: bigint
  /** Rating given after the job (ERC-8004 `starred`, 0–100). @default 100 */
  rating?: number
  /** Refuse agents whose `starred` score is known and below this. */
  minScore?: number
  /** @default the node network's Identity Registry */
  identityRegistry?: Address
  /** @default the node network's Reputation Registry */
  reputationRegistry?: Address
  /**
   * Where the feedback file goes. @default this node's Helia (served over bitswap while the node runs); a one-shot
   * process that exits right after should pass `storeAsDataUri` from `@betar/reputation` (the file travels on-chain).
   */
  storeFeedback?: (bytes: Uint8Array) => Promise<string>
  /** Registration file retrieval timeout. @default 10000 */
  verifyTimeoutMs?: number
  signal?: AbortSignal
}

/** Every step of a purchase. */
export interface Purchase {
  /** Listings offering the capability within the price (DHT + marketplace), cheapest first. */
  discovered: Listing[]
  /** The listing bought from. */
  listing: Listing
  /** ERC-8004 verification of the listing (always `ok` here: a failure throws). */
  verification: VerifyListingResult
  /** The agent's reputation before buying, per tag. */
  reputation: Record<string, TagSummary>
  /** The paid x402 call, with its settlement. */
  call: CallResult
  /** The executor's output (JSON-decoded). */
  output: unknown
  /** The payment proof cited by the feedback. */
  proof: ProofOfPayment
  /** The feedback transaction and its file (stored on this node's Helia). */
  feedback: GiveFeedbackResult
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * Buys one job from an agent offering `capability`: discovers sellers through the DHT and the marketplace, verifies
 * the listing's ERC-8004 identity (throwing {@link ListingVerificationError} with every reason on a mismatch), checks
 * its reputation, dials the listing's addresses and pays + calls it over `/x402/libp2p/2.0.0` (at most `maxPrice`,
 * only to the listing's `payTo`), then rates it on the Reputation Registry with the payment proof stored on Helia.
 */
export async function buyService(
  node: BetarNode,
  capability: string,
  input: unknown,
  options: BuyServiceOptions
): Promise<Purchase> {
  const signalOpt = options.signal != null ? { signal: options.signal } : {}
  const identityRegistry = options.identityRegistry ?? node.network.erc8004.identityRegistry
  const reputationRegistry = options.reputationRegistry ?? node.network.erc8004.reputationRegistry
  const market = node.services.market

  const found = await market.findSellers(capability, { maxPrice: options.maxPrice, ...signalOpt })
  const known = market.find({ capability, maxPrice: options.maxPrice })
  const discovered = dedupe([...found, ...known]).filter(
    (l) => l.seller !== node.peerId && l.price.asset.toLowerCase() === node.network.usdc.address.toLowerCase()
  )
  const listing = discovered[0]
  if (listing == null) throw new NoSellerError(`no seller offers "${capability}" for at most ${options.maxPrice}`)

  // Reach the seller by the addresses it signed (also lets bitswap fetch its registration file).
  await node.dial(listing.multiaddrs)

  const verification = await verifyListing(listing, {
    publicClient: node.clients.publicClient,
    identityRegistry,
    helia: node.helia,
    timeoutMs: options.verifyTimeoutMs ?? 10_000,
    ...signalOpt
  })
  if (!verification.ok) throw new ListingVerificationError(verification.reasons)
  const claim = listing.erc8004
  if (claim == null) throw new ListingVerificationError([{ code: 'NOT_REGISTERED', message: 'no erc8004 identity' }])
  const agentId = BigInt(claim.agentId)

  const reputation = await node.reputation.summary(agentId, signalOpt)
  const score = reputation[STARRED_TAG]?.score
  if (options.minScore != null && score != null && score < options.minScore) {
    throw new ReputationTooLowError(`agent ${agentId} scores ${score.toFixed(1)} < ${options.minScore}`)
  }

  const call = await node.services.x402Client.call(
    listing.multiaddrs.map((a) => multiaddr(a)),
    listing.resource,
    encoder.encode(JSON.stringify(input)),
    {
      // Never more than the seller's signed listing says, nor more than the buyer allows.
      maxAmount: BigInt(listing.price.amount) < options.maxPrice ? BigInt(listing.price.amount) : options.maxPrice,
      payTo: listing.price.payTo as Address,
      contentType: 'application/json',
      ...signalOpt
    }
  )
  if (call.settlement == null || !call.settlement.success || call.settlementCheck !== 'verified') {
    throw new MissingSettlementError(`call ${call.correlationId} returned without a settlement verified on-chain`)
  }
  const output: unknown = JSON.parse(decoder.decode(call.body))

  const proof: ProofOfPayment = {
    fromAddress: (call.settlement.payer ?? node.wallet.address) as Address,
    toAddress: listing.price.payTo as Address,
    chainId: node.network.chainId,
    txHash: call.settlement.transaction as `0x${string}`,
    amount: call.amount.toString(),
    asset: node.network.usdc.address,
    correlationId: call.correlationId
  }
  const feedback = await giveFeedback({
    walletClient: node.clients.walletClient,
    publicClient: node.clients.publicClient,
    reputationRegistry,
    agentId,
    agentRegistry: claim.agentRegistry as `eip155:${number}:${Address}`,
    value: options.rating ?? 100,
    endpoint: `/p2p/${listing.seller}/x402/${listing.resource}`,
    proof,
    store: options.storeFeedback ?? node.feedbackStorage.store,
    ...signalOpt
  })
  return { discovered, listing, verification, reputation, call, output, proof, feedback }
}

function dedupe(listings: Listing[]): Listing[] {
  const byKey = new Map<string, Listing>()
  for (const l of listings) {
    const key = `${l.seller}/${l.id}`
    const seen = byKey.get(key)
    if (seen == null || seen.updatedAt < l.updatedAt) byKey.set(key, l)
  }
  return [...byKey.values()].sort((a, b) => (BigInt(a.price.amount) < BigInt(b.price.amount) ? -1 : 1))
}
