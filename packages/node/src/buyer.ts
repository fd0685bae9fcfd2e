import { type VerifyListingResult, verifyListing } from '@betar/identity'
import type { Listing } from '@betar/marketplace-crdt'
import { type ProofOfPayment, STARRED_TAG, type TagSummary } from '@betar/reputation'
import { CallConflictError, CallNotFoundError, type CallResult } from '@betar/x402-libp2p'
import { multiaddr } from '@multiformats/multiaddr'
import type { Address } from 'viem'
import { assertCanPay, noSellerError } from './buyer-checks.ts'
import { ListingVerificationError, ReputationTooLowError, SellerUnreachableError } from './errors.ts'
import type { FeedbackJob, FeedbackStorage } from './feedback-job.ts'
import type { BetarNode } from './node.ts'
import { decodeOutput } from './output.ts'
import { connectedPeers } from './peers.ts'
import { type BuyProgressHandler, report, watchPayment } from './progress.ts'
import { type PurchaseMetadata, purchaseMetadata } from './purchase-metadata.ts'

const DEFAULT_FEEDBACK_WAIT_MS = 15_000
const DEFAULT_DIAL_TIMEOUT_MS = 5_000

function anySignal(a: AbortSignal | undefined, b: AbortSignal): AbortSignal {
  return a != null ? AbortSignal.any([a, b]) : b
}

/** Options of {@link buyService}. */
export interface BuyServiceOptions {
  /** Most the buyer pays, in atomic USDC units: listings above it are skipped, and the x402 call is capped at the
   * lower of this and the listing's signed price (a seller asking more than it listed is refused before signing). */
  maxPrice: bigint
  /**
   * Names the call (1–64 of `[A-Za-z0-9_-]`). When this node's journal already holds a paid call under it — e.g. one
   * interrupted by a seller or buyer restart — that call is resumed (its stored result, or a re-ask with its stored
   * payment) instead of buying again: a retry with the same id never pays twice. The same id with another capability
   * or input throws `CallConflictError`. @default a random UUID
   */
  correlationId?: string
  /** Rating given after the job (ERC-8004 `starred`, 0–100). @default 100 */
  rating?: number
  /** Give feedback at all. @default true */
  feedback?: boolean
  /**
   * Where the feedback file goes: `data-uri` (inside the transaction: anyone can verify the payment proof from chain
   * data alone, whoever is online; about 21 k more gas) or `node` (an `ipfs://` raw block on this node's Helia, served
   * over bitswap only while this node runs: scorers that cannot fetch it report the feedback as unverified and leave
   * it out of the score). @default 'data-uri'
   */
  feedbackStorage?: FeedbackStorage
  /**
   * How long (ms) the purchase waits for its feedback transaction to be mined before returning the result with the
   * feedback still `pending` (it goes on in the background and is never sent twice). @default 15000
   */
  feedbackWaitMs?: number
  /** Refuse agents whose `starred` score is known and below this. */
  minScore?: number
  /** @default the node network's Identity Registry */
  identityRegistry?: Address
  /** @default the node network's Reputation Registry */
  reputationRegistry?: Address
  /** Longest wait to connect to one seller before trying the next one (ms). @default 5000 */
  dialTimeoutMs?: number
  /** Registration file retrieval timeout. @default 10000 */
  verifyTimeoutMs?: number
  /**
   * Told each step of the purchase as it happens — discovery, the seller's verification, the payment signed, sent and
   * settled, the result, the feedback: see `BuyProgress`. Reading the settlement from the chain while the call is
   * open costs one `eth_call` per 250 ms, and only when this is set.
   */
  onProgress?: BuyProgressHandler
  signal?: AbortSignal
}

/** Every step of a purchase. */
export interface Purchase {
  correlationId: string
  /** The call was answered from the journal or re-asked with a payment signed earlier (no new payment). */
  resumed: boolean
  /** Listings offering the capability within the price (DHT + marketplace), cheapest first; empty when resumed. */
  discovered: Listing[]
  /** The listing bought from. */
  listing: Listing
  /** ERC-8004 verification of the listing (`ok`: a failure throws); absent when resumed (checked the first time). */
  verification?: VerifyListingResult
  /** The agent's reputation before buying, per tag; absent when resumed. */
  reputation?: Record<string, TagSummary>
  /** The paid x402 call, with its settlement. */
  call: CallResult
  /** The executor's output (JSON-decoded; the text itself when it is not JSON). */
  output: unknown
  /** The payment proof cited by the feedback: only a settlement the buyer verified on-chain. */
  proof?: ProofOfPayment
  /** The rating owed for this call: `given` (with its transaction) or `pending` (retried in the background). */
  feedback?: FeedbackJob
  /** What did not go as planned after the result arrived (unverified settlement, feedback pending and why). */
  warnings: string[]
}

const encoder = new TextEncoder()

/**
 * Buys one job from an agent offering `capability`: discovers sellers through the DHT and the marketplace, verifies
 * the listing's ERC-8004 identity (throwing {@link ListingVerificationError} with every reason on a mismatch), checks
 * its reputation, dials the listing's addresses and pays + calls it over `/x402/libp2p/2.0.0` (at most the lower of
 * `maxPrice` and the listed price, only to the listing's `payTo`), journaling the call in the node's datastore; then
 * rates it on the Reputation Registry as a separate step that never withholds the result (see {@link Purchase}).
 *
 * With a `correlationId` the journal already holds as paid, the call is resumed instead (see the option). Throws what
 * the x402 client throws for the call (`ExecutionFailedError` with the refund when the task failed,
 * `PaymentInterruptedError` when no outcome could be read — resume with the same id).
 */
export async function buyService(
  node: BetarNode,
  capability: string,
  input: unknown,
  options: BuyServiceOptions
): Promise<Purchase> {
  const signalOpt = options.signal != null ? { signal: options.signal } : {}
  const { onProgress } = options
  if (options.correlationId != null) {
    const entry = await node.journal.get(options.correlationId, signalOpt)
    if (entry?.payment != null) {
      // The same id for another purchase is a mistake that must not return the first purchase's result.
      const same =
        purchaseMetadata(entry.metadata)?.capability === capability &&
        entry.body === Buffer.from(encoder.encode(JSON.stringify(input))).toString('base64')
      if (!same) throw new CallConflictError(options.correlationId)
      return resumePurchase(node, options.correlationId, options)
    }
  }
  const identityRegistry = options.identityRegistry ?? node.network.erc8004.identityRegistry
  const market = node.services.market
  report(onProgress, { type: 'buy:discovering', detail: { capability, maxPrice: options.maxPrice } })

  // With no connection there is no one to ask (the DHT search would only time out): see `noSellerError`.
  const found =
    connectedPeers(node) === 0 ? [] : await market.findSellers(capability, { maxPrice: options.maxPrice, ...signalOpt })
  const known = market.find({ capability, maxPrice: options.maxPrice })
  const discovered = dedupe([...found, ...known]).filter(
    (l) => l.seller !== node.peerId && l.price.asset.toLowerCase() === node.network.usdc.address.toLowerCase()
  )
  const cheapest = discovered[0]
  if (cheapest == null) throw noSellerError(node, capability, options.maxPrice)
  report(onProgress, { type: 'buy:discovered', detail: { listings: discovered } })
  await assertCanPay(node, cheapest, options.maxPrice)

  // Reach a seller by the addresses it signed (also lets bitswap fetch its registration file), cheapest first and
  // sellers that recently failed to answer last; one that cannot be dialled now is skipped and marked stale.
  const unreachable: string[] = []
  let listing: Listing | undefined
  for (const candidate of node.reachability.order(discovered)) {
    report(onProgress, { type: 'buy:connecting', detail: { listing: candidate } })
    try {
      await node.dial(candidate.multiaddrs, {
        signal: anySignal(options.signal, AbortSignal.timeout(options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS))
      })
      node.reachability.markReachable(candidate.seller)
      listing = candidate
      break
    } catch (err) {
      options.signal?.throwIfAborted()
      node.reachability.markUnreachable(candidate.seller)
      unreachable.push(`${candidate.seller} (${err instanceof Error ? err.message : String(err)})`)
    }
  }
  if (listing == null) {
    throw new SellerUnreachableError(
      `${discovered.length} seller(s) offer "${capability}" but none could be reached: ${unreachable.join('; ')}`
    )
  }
  if (listing !== cheapest) await assertCanPay(node, listing, options.maxPrice)

  report(onProgress, { type: 'buy:verifying', detail: { listing } })
  const verification = await verifyListing(listing, {
    publicClient: node.clients.publicClient,
    identityRegistry,
    helia: node.helia,
    timeoutMs: options.verifyTimeoutMs ?? 10_000,
    ...signalOpt
  })
  if (!verification.ok) throw new ListingVerificationError(verification.reasons)
  const agentId = BigInt(claimOf(listing).agentId)

  const reputation = await node.reputation.summary(agentId, signalOpt)
  const score = reputation[STARRED_TAG]?.score
  if (options.minScore != null && score != null && score < options.minScore) {
    throw new ReputationTooLowError(`agent ${agentId} scores ${score.toFixed(1)} < ${options.minScore}`)
  }
  report(onProgress, { type: 'buy:verified', detail: { listing, agentId, ...(score != null ? { score } : {}) } })

  const metadata: PurchaseMetadata = {
    capability,
    listing,
    rating: options.rating ?? 100,
    feedback: options.feedback !== false,
    feedbackStorage: options.feedbackStorage ?? 'data-uri'
  }
  const correlationId = options.correlationId ?? crypto.randomUUID()
  const payment = onProgress != null ? watchPayment(node, correlationId, onProgress) : undefined
  let call: CallResult
  try {
    call = await node.services.x402Client.call(
      listing.multiaddrs.map((a) => multiaddr(a)),
      listing.resource,
      encoder.encode(JSON.stringify(input)),
      {
        // Never more than the seller's signed listing says, nor more than the buyer allows.
        maxAmount: BigInt(listing.price.amount) < options.maxPrice ? BigInt(listing.price.amount) : options.maxPrice,
        payTo: listing.price.payTo as Address,
        contentType: 'application/json',
        correlationId,
        metadata: metadata as unknown as Record<string, unknown>,
        ...signalOpt
      }
    )
  } finally {
    payment?.stop()
  }
  const done = await afterResult(node, metadata, call, options)
  return { ...done, resumed: false, discovered, listing, verification, reputation, call }
}

/**
 * Resumes a journaled purchase (see {@link BuyServiceOptions.correlationId}): its stored result, or a re-ask with its
 * stored payment — at the seller's current addresses when its newer listing is known — then the feedback still owed.
 * Throws `CallNotFoundError` when the journal holds no paid call under the id.
 */
export async function resumePurchase(
  node: BetarNode,
  correlationId: string,
  options: Omit<BuyServiceOptions, 'maxPrice'> = {}
): Promise<Purchase> {
  const signalOpt = options.signal != null ? { signal: options.signal } : {}
  const entry = await node.journal.get(correlationId, signalOpt)
  if (entry?.payment == null) throw new CallNotFoundError(correlationId)
  const metadata = purchaseMetadata(entry.metadata)
  if (metadata == null) throw new CallNotFoundError(correlationId, 'the journal entry is not a purchase of this node')
  report(options.onProgress, { type: 'buy:resuming', detail: { correlationId } })
  if (entry.state === 'sent') {
    // A seller that restarted may listen elsewhere now: its newest signed listing says where.
    const fresh = node.services.market.find({ sellers: [entry.peer] }).find((l) => l.id === metadata.listing.id)
    if (fresh != null && fresh.multiaddrs.length > 0) {
      await node.journal.put({ ...entry, addresses: fresh.multiaddrs, updatedAt: Date.now() }, signalOpt)
    }
  }
  const call = await node.services.x402Client.resume(correlationId, signalOpt)
  const done = await afterResult(node, metadata, call, options)
  return { ...done, resumed: true, discovered: [], listing: metadata.listing, call }
}

/** What follows a result: its output decoded, the settlement checked, the feedback given or queued. Never throws. */
async function afterResult(
  node: BetarNode,
  metadata: PurchaseMetadata,
  call: CallResult,
  options: Pick<BuyServiceOptions, 'reputationRegistry' | 'signal' | 'feedbackWaitMs' | 'onProgress'>
): Promise<Pick<Purchase, 'correlationId' | 'output' | 'proof' | 'feedback' | 'warnings'>> {
  const { correlationId, settlement, settlementCheck } = call
  report(options.onProgress, {
    type: 'buy:result',
    detail: {
      correlationId,
      ...(settlement?.transaction ? { transaction: settlement.transaction } : {}),
      ...(settlementCheck != null ? { settlementCheck } : {})
    }
  })
  const warnings: string[] = []
  const output = decodeOutput(call.body)
  const base = { correlationId: call.correlationId, output, warnings }
  if (call.settlement == null || !call.settlement.success || call.settlementCheck !== 'verified') {
    warnings.push(`the settlement is ${call.settlementCheck ?? 'unchecked'} on-chain: no payment proof, no feedback`)
    return base
  }
  const { listing } = metadata
  const proof: ProofOfPayment = {
    fromAddress: (call.settlement.payer ?? node.wallet.address) as Address,
    toAddress: listing.price.payTo as Address,
    chainId: node.network.chainId,
    txHash: call.settlement.transaction as `0x${string}`,
    amount: call.amount.toString(),
    asset: node.network.usdc.address,
    correlationId: call.correlationId
  }
  if (!metadata.feedback) return { ...base, proof }
  const claim = claimOf(listing)
  report(options.onProgress, {
    type: 'buy:feedback',
    detail: { correlationId: call.correlationId, agentId: claim.agentId, rating: metadata.rating }
  })
  const feedback = await node.feedback.give(
    {
      correlationId: call.correlationId,
      agentId: claim.agentId,
      agentRegistry: claim.agentRegistry as `eip155:${number}:${Address}`,
      reputationRegistry: options.reputationRegistry ?? node.network.erc8004.reputationRegistry,
      value: metadata.rating,
      endpoint: `/p2p/${listing.seller}/x402/${listing.resource}`,
      proof,
      storage: metadata.feedbackStorage
    },
    {
      waitMs: options.feedbackWaitMs ?? DEFAULT_FEEDBACK_WAIT_MS,
      ...(options.signal != null ? { signal: options.signal } : {})
    }
  )
  if (feedback.state !== 'given') warnings.push(`feedback pending (retried in the background): ${feedback.lastError}`)
  return { ...base, proof, feedback }
}

function claimOf(listing: Listing): NonNullable<Listing['erc8004']> {
  const claim = listing.erc8004
  if (claim == null) throw new ListingVerificationError([{ code: 'NOT_REGISTERED', message: 'no erc8004 identity' }])
  return claim
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
