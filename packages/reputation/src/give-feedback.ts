import { reputationRegistryAbi } from '@betar/contracts'
import { type Address, type Hash, type Hex, parseEventLogs } from 'viem'
import type { WriteClients } from './clients.ts'
import type { StoreBytes } from './data-uri.ts'
import { TransactionFailedError } from './errors.ts'
import {
  caip10Account,
  encodeFeedbackFile,
  type FeedbackFile,
  feedbackHash,
  type ProofOfPayment
} from './feedback-file.ts'
import { writeAndWait } from './write-contract.ts'

/** The `tag1` Betar uses for its 0–100 quality rating (ERC-8004's `starred`). */
export const STARRED_TAG = 'starred'

/** Parameters of {@link giveFeedback}. */
export interface GiveFeedbackParameters extends WriteClients {
  reputationRegistry: Address
  agentId: bigint
  /** The agent's `agentRegistry` (`eip155:<chainId>:<identityRegistry>`). */
  agentRegistry: `eip155:${number}:${Address}`
  /** The rating. For `starred`: an integer 0–100. */
  value: number
  /** @default 0 */
  valueDecimals?: number
  /** @default 'starred' */
  tag1?: string
  tag2?: string
  /** The service endpoint that was used. */
  endpoint?: string
  /** The x402 settlement that paid for the job. */
  proof: ProofOfPayment
  /** Stores the feedback file and returns its `feedbackURI` (e.g. Helia → `ipfs://…`, or {@link storeAsDataUri}). */
  store: StoreBytes
  /** Clock for `createdAt`. @default Date.now */
  now?: () => number
  /** Extra feedback-file fields (e.g. `a2a: { taskId }`). */
  extra?: Record<string, unknown>
}

/** What {@link giveFeedback} returns. */
export interface GiveFeedbackResult {
  txHash: Hash
  /** The 1-based per-(client, agent) index, read from the `NewFeedback` event. */
  feedbackIndex: bigint
  feedbackURI: string
  feedbackHash: Hex
  /** The file as stored. */
  file: FeedbackFile
}

/**
 * Writes the ERC-8004 feedback file (with its payment proof), stores it, and calls the Reputation Registry's
 * `giveFeedback(agentId, value, valueDecimals, tag1, tag2, endpoint, feedbackURI, feedbackHash)` from the payer.
 * Throws {@link SelfFeedbackError} when the payer owns or operates the agent, {@link RegistryCallError} otherwise.
 */
export async function giveFeedback(params: GiveFeedbackParameters): Promise<GiveFeedbackResult> {
  const { walletClient, publicClient, reputationRegistry, agentId, signal } = params
  const valueDecimals = params.valueDecimals ?? 0
  const tag1 = params.tag1 ?? STARRED_TAG
  const tag2 = params.tag2 ?? ''
  const endpoint = params.endpoint ?? ''
  if (!Number.isInteger(params.value)) throw new RangeError('value must be an integer')
  if (tag1 === STARRED_TAG && valueDecimals === 0 && (params.value < 0 || params.value > 100)) {
    throw new RangeError('starred value must be 0–100')
  }
  const chainId = publicClient.chain?.id ?? (await publicClient.getChainId())
  const file = buildFeedbackFile(params, chainId, walletClient.account.address)
  const bytes = encodeFeedbackFile(file)
  const hash = feedbackHash(bytes)
  signal?.throwIfAborted()
  const feedbackURI = await params.store(bytes, signal != null ? { signal } : {})
  const call = {
    address: reputationRegistry,
    abi: reputationRegistryAbi,
    functionName: 'giveFeedback',
    args: [agentId, BigInt(params.value), valueDecimals, tag1, tag2, endpoint, feedbackURI, hash],
    account: walletClient.account
  } as const
  const { txHash, receipt } = await writeAndWait(
    params,
    {
      simulate: () => publicClient.simulateContract(call),
      send: () => walletClient.writeContract({ ...call, chain: walletClient.chain ?? null })
    },
    'giveFeedback'
  )
  const [event] = parseEventLogs({ abi: reputationRegistryAbi, eventName: 'NewFeedback', logs: receipt.logs })
  if (event == null)
    throw new TransactionFailedError('giveFeedback receipt has no NewFeedback event', { details: txHash })
  return { txHash, feedbackIndex: event.args.feedbackIndex, feedbackURI, feedbackHash: hash, file }
}

/**
 * The ERC-8004 feedback file {@link giveFeedback} writes for `params` from `client` on `chainId` — the same bytes for
 * the same parameters and clock, so a retried feedback can be recognised on-chain by its `feedbackHash`.
 */
export function buildFeedbackFile(
  params: Omit<GiveFeedbackParameters, keyof WriteClients | 'reputationRegistry' | 'store'>,
  chainId: number,
  client: Address
): FeedbackFile {
  const { agentId } = params
  return {
    ...params.extra,
    agentRegistry: params.agentRegistry,
    agentId: agentId <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(agentId) : agentId.toString(),
    clientAddress: caip10Account(chainId, client),
    createdAt: new Date((params.now ?? Date.now)()).toISOString(),
    value: params.value,
    valueDecimals: params.valueDecimals ?? 0,
    tag1: params.tag1 ?? STARRED_TAG,
    ...(params.tag2 != null ? { tag2: params.tag2 } : {}),
    ...(params.endpoint != null ? { endpoint: params.endpoint } : {}),
    proofOfPayment: params.proof
  }
}

/** Parameters of {@link revokeFeedback}. */
export interface RevokeFeedbackParameters extends WriteClients {
  reputationRegistry: Address
  agentId: bigint
  feedbackIndex: bigint
}

/** Revokes the caller's own feedback `feedbackIndex` for `agentId`. */
export async function revokeFeedback(params: RevokeFeedbackParameters): Promise<{ txHash: Hash }> {
  const { walletClient, publicClient } = params
  const call = {
    address: params.reputationRegistry,
    abi: reputationRegistryAbi,
    functionName: 'revokeFeedback',
    args: [params.agentId, params.feedbackIndex],
    account: walletClient.account
  } as const
  const { txHash } = await writeAndWait(
    params,
    {
      simulate: () => publicClient.simulateContract(call),
      send: () => walletClient.writeContract({ ...call, chain: walletClient.chain ?? null })
    },
    'revokeFeedback'
  )
  return { txHash }
}
