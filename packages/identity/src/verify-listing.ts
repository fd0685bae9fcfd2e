import type { Listing } from '@betar/marketplace-crdt'
import type { AbortOptions } from '@libp2p/interface'
import { type Address, isAddress, isAddressEqual } from 'viem'
import { parseAgentRegistry } from './agent-registry.ts'
import type { RegistryPublicClient } from './clients.ts'
import {
  AgentFileUnavailableError,
  AgentNotFoundError,
  InvalidRegistrationFileError,
  RegistrationFileTooLargeError,
  UnsupportedAgentUriError
} from './errors.ts'
import { hasRegistration, libp2pServices, type RegistrationFile } from './registration-file.ts'
import { type AgentRecord, type ResolvedAgent, readAgent } from './registry.ts'
import { type FetchLike, fetchAgentFile, type HeliaLike } from './storage.ts'

/** Why a listing failed verification. */
export type VerifyReasonCode =
  | 'NOT_REGISTERED'
  | 'REGISTRY_MISMATCH'
  | 'AGENT_NOT_FOUND'
  | 'FILE_UNAVAILABLE'
  | 'FILE_INVALID'
  | 'PEER_NOT_IN_FILE'
  | 'NOT_IN_REGISTRATIONS'
  | 'WALLET_UNSET'
  | 'PAYTO_NOT_AGENT_WALLET'
  | 'INACTIVE'

/** One verification failure. */
export interface VerifyReason {
  code: VerifyReasonCode
  message: string
  /** The underlying error, for file retrieval and validation failures. */
  cause?: unknown
}

/** The outcome of {@link verifyListing}. */
export type VerifyListingResult = { ok: true; agent: ResolvedAgent } | { ok: false; reasons: VerifyReason[] }

/** Options of {@link verifyListing}. */
export interface VerifyListingOptions extends AbortOptions {
  /** A client on the chain the listing's registry lives on. */
  publicClient: RegistryPublicClient
  /** The registry the caller trusts; when omitted, the listing's own `agentRegistry` is used (same chain only). */
  identityRegistry?: Address
  /** Needed for `ipfs://` agentURIs. */
  helia?: HeliaLike
  /** Needed for `https:` agentURIs. */
  fetch?: FetchLike
  /** File retrieval timeout. @default 30 s */
  timeoutMs?: number
}

/**
 * Checks a marketplace listing's ERC-8004 claim against the Identity Registry and the agent's registration file:
 * the agent exists in the expected registry, its file lists the listing's seller peer and this registration, it is
 * active, and the listing is paid to the on-chain agentWallet. Returns every mismatch found, not just the first.
 * Only RPC failures (and aborts) throw.
 */
export async function verifyListing(listing: Listing, options: VerifyListingOptions): Promise<VerifyListingResult> {
  const fail = (code: VerifyReasonCode, message: string): VerifyListingResult => ({
    ok: false,
    reasons: [{ code, message }]
  })
  const claim = listing.erc8004
  if (claim == null) return fail('NOT_REGISTERED', 'the listing has no erc8004 identity')
  const registry = parseAgentRegistry(claim.agentRegistry)
  if (registry == null) return fail('REGISTRY_MISMATCH', `malformed agentRegistry ${claim.agentRegistry}`)
  const chainId = options.publicClient.chain?.id ?? (await options.publicClient.getChainId())
  if (registry.chainId !== chainId) {
    return fail('REGISTRY_MISMATCH', `agentRegistry is on chain ${registry.chainId}, the client on ${chainId}`)
  }
  if (options.identityRegistry != null && !isAddressEqual(options.identityRegistry, registry.identityRegistry)) {
    return fail('REGISTRY_MISMATCH', `agentRegistry ${claim.agentRegistry} is not ${options.identityRegistry}`)
  }

  const agentId = BigInt(claim.agentId)
  let record: AgentRecord
  try {
    record = await readAgent({
      publicClient: options.publicClient,
      identityRegistry: registry.identityRegistry,
      agentId,
      ...(options.signal != null ? { signal: options.signal } : {})
    })
  } catch (error) {
    if (error instanceof AgentNotFoundError) return fail('AGENT_NOT_FOUND', `agent ${agentId} does not exist`)
    throw error
  }

  const reasons: VerifyReason[] = []
  if (record.agentWallet == null) {
    reasons.push({ code: 'WALLET_UNSET', message: `agent ${agentId} has no agentWallet` })
  } else if (
    !isAddress(listing.price.payTo, { strict: false }) ||
    !isAddressEqual(listing.price.payTo, record.agentWallet)
  ) {
    reasons.push({
      code: 'PAYTO_NOT_AGENT_WALLET',
      message: `payTo ${listing.price.payTo} is not the agentWallet ${record.agentWallet}`
    })
  }

  let file: RegistrationFile | undefined
  try {
    file = await fetchAgentFile(record.agentURI, {
      ...(options.helia != null ? { helia: options.helia } : {}),
      ...(options.fetch != null ? { fetch: options.fetch } : {}),
      ...(options.signal != null ? { signal: options.signal } : {}),
      ...(options.timeoutMs != null ? { timeoutMs: options.timeoutMs } : {})
    })
  } catch (error) {
    if (error instanceof AgentFileUnavailableError || error instanceof UnsupportedAgentUriError) {
      reasons.push({ code: 'FILE_UNAVAILABLE', message: error.message, cause: error })
    } else if (error instanceof InvalidRegistrationFileError || error instanceof RegistrationFileTooLargeError) {
      reasons.push({ code: 'FILE_INVALID', message: error.message, cause: error })
    } else {
      throw error
    }
  }

  if (file != null) {
    if (!libp2pServices(file).some((service) => service.peerId === listing.seller)) {
      reasons.push({ code: 'PEER_NOT_IN_FILE', message: `no libp2p service of the file names peer ${listing.seller}` })
    }
    if (!hasRegistration(file, agentId, claim.agentRegistry)) {
      reasons.push({
        code: 'NOT_IN_REGISTRATIONS',
        message: `the file's registrations do not include agent ${agentId} of ${claim.agentRegistry}`
      })
    }
    if (file.active === false) reasons.push({ code: 'INACTIVE', message: 'the file marks the agent inactive' })
  }

  if (reasons.length > 0 || file == null) return { ok: false, reasons }
  return { ok: true, agent: { ...record, file } }
}
