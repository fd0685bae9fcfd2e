/**
 * @packageDocumentation
 *
 * ERC-8004 agent identity for Betar: build and validate registration files (with a `libp2p` service naming the
 * agent's peer), store them on Helia and fetch them back over bitswap (or from `data:` URIs, or `https:` with a
 * caller-supplied `fetch`), register agents and bind their payment wallet on the Identity Registry with viem,
 * resolve agents, and verify that a marketplace listing's identity claim holds.
 *
 * @example
 * ```ts
 * import { buildRegistrationFile, registerAgent, bindAgentWallet, verifyListing } from '@betar/identity'
 *
 * const file = buildRegistrationFile({
 *   name: 'summarizer', description: 'Summarises text', x402Support: true,
 *   peerId: helia.libp2p.peerId, multiaddrs: helia.libp2p.getMultiaddrs()
 * })
 * const { agentId } = await registerAgent({ walletClient, publicClient, identityRegistry, file, helia })
 * await bindAgentWallet({ walletClient, publicClient, identityRegistry, agentId, wallet: payoutAccount })
 * const result = await verifyListing(listing, { publicClient, identityRegistry, helia })
 * ```
 */

// First: installs the Node 20 shims (see node20.ts) before anything else runs.
import './node20.ts'

export {
  type AgentRegistryId,
  formatAgentRegistry,
  parseAgentRegistry,
  sameAgentRegistry
} from './agent-registry.ts'
export type { RegistryPublicClient, RegistryWalletClient, RegistryWriteOptions } from './clients.ts'
export {
  DEFAULT_FETCH_TIMEOUT_MS,
  LIBP2P_SERVICE_NAME,
  MAX_REGISTRATION_FILE_BYTES,
  MAX_REGISTRATION_FILE_DEPTH,
  MAX_REGISTRATIONS,
  MAX_SERVICES,
  X402_LIBP2P_PROTOCOLS
} from './constants.ts'
export {
  AGENT_NAME_METADATA_KEY,
  type EnsureAgentRegistrationOptions,
  type EnsuredAgentRegistration,
  ensureAgentRegistration
} from './ensure-agent.ts'
export {
  AgentFileUnavailableError,
  AgentNotFoundError,
  DeadlineError,
  InvalidRegistrationFileError,
  InvalidWalletSignatureError,
  NotAuthorizedError,
  RegistrationFileTooLargeError,
  RegistryError,
  UnsupportedAgentUriError
} from './errors.ts'
export {
  type BuildRegistrationFileInit,
  buildRegistrationFile,
  decodeRegistrationFile,
  encodeRegistrationFile,
  hasRegistration,
  type Libp2pService,
  Libp2pServiceSchema,
  libp2pServices,
  parseRegistrationFile,
  type Registration,
  type RegistrationFile,
  RegistrationFileSchema,
  RegistrationSchema,
  registrationAgentId,
  type Service,
  ServiceSchema,
  withRegistration
} from './registration-file.ts'
export {
  type AgentRecord,
  type BindAgentWalletOptions,
  bindAgentWallet,
  type ReadAgentOptions,
  type RegisterAgentOptions,
  type RegisteredAgent,
  type ResolveAgentOptions,
  type ResolvedAgent,
  readAgent,
  registerAgent,
  resolveAgent,
  type UpdateAgentUriOptions,
  updateAgentURI
} from './registry.ts'
export { toRegistryError } from './revert.ts'
export {
  type FetchAgentFileOptions,
  type FetchLike,
  fetchAgentFile,
  type HeliaLike,
  registrationFileDataUri,
  registrationFileUri,
  storeRegistrationFile
} from './storage.ts'
export {
  type VerifyListingOptions,
  type VerifyListingResult,
  type VerifyReason,
  type VerifyReasonCode,
  verifyListing
} from './verify-listing.ts'
