import {
  AGENT_WALLET_MAX_DEADLINE_SECONDS,
  AGENT_WALLET_SET_TYPES,
  agentWalletDomain,
  identityRegistryAbi
} from '@betar/contracts'
import type { AbortOptions } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { type Address, type Hash, isAddressEqual, type LocalAccount, parseEventLogs, toHex, zeroAddress } from 'viem'
import { type AgentRegistryId, formatAgentRegistry } from './agent-registry.ts'
import { type RegistryPublicClient, type RegistryWriteOptions, sendAndWait } from './clients.ts'
import { DeadlineError, RegistryError } from './errors.ts'
import { type RegistrationFile, withRegistration } from './registration-file.ts'
import { toRegistryError } from './revert.ts'
import {
  type FetchLike,
  fetchAgentFile,
  type HeliaLike,
  registrationFileUri,
  storeRegistrationFile
} from './storage.ts'

/** Options of {@link registerAgent}. */
export interface RegisterAgentOptions extends RegistryWriteOptions {
  /** The registration file; its entry for this registry is filled in with the minted agentId. */
  file: RegistrationFile
  /** Where the file is stored (and served to peers over bitswap). */
  helia: HeliaLike
  /**
   * On-chain metadata entries written with the mint (`register("", metadata)`, ERC-8004 §Identity; `agentWallet` is
   * reserved). Values are UTF-8 encoded.
   */
  metadata?: Readonly<Record<string, string>>
}

/** What {@link registerAgent} returns. */
export interface RegisteredAgent {
  agentId: bigint
  /** `eip155:<chainId>:<identityRegistry>`. */
  agentRegistry: AgentRegistryId
  /** CID of the stored registration file. */
  cid: CID
  /** The agentURI set on-chain, `ipfs://<cid>`. */
  uri: `ipfs://${string}`
  /** The file as stored, with its own registration. */
  file: RegistrationFile
  /** The `register()` and `setAgentURI` transactions. */
  transactions: { register: Hash; setAgentURI: Hash }
}

/**
 * Registers a new agent owned by the wallet client's account, following ERC-8004's two-step flow: `register()`,
 * read the minted agentId from the `Registered` event, add `{ agentId, agentRegistry }` to the file's
 * `registrations`, store the file on Helia, and `setAgentURI(agentId, 'ipfs://<cid>')`.
 *
 * @example
 * ```ts
 * const { agentId, uri } = await registerAgent({ walletClient, publicClient, identityRegistry, file, helia })
 * ```
 */
export async function registerAgent(options: RegisterAgentOptions): Promise<RegisteredAgent> {
  const { walletClient, publicClient, identityRegistry } = options
  const account = walletClient.account
  const entries = Object.entries(options.metadata ?? {}).map(([metadataKey, value]) => ({
    metadataKey,
    metadataValue: toHex(value)
  }))
  const receipt = await sendAndWait(options, 'register', async () => {
    const { request } = await publicClient.simulateContract({
      account,
      address: identityRegistry,
      abi: identityRegistryAbi,
      ...(entries.length > 0
        ? { functionName: 'register', args: ['', entries] as const }
        : { functionName: 'register', args: [] as const })
    })
    return walletClient.writeContract(request)
  })
  const registered = parseEventLogs({ abi: identityRegistryAbi, logs: receipt.logs, eventName: 'Registered' }).find(
    (log) => isAddressEqual(log.address, identityRegistry)
  )
  if (registered == null)
    throw new RegistryError(`register transaction ${receipt.transactionHash} has no Registered event`)
  const agentId = registered.args.agentId
  const chainId = publicClient.chain?.id ?? (await publicClient.getChainId())
  const agentRegistry = formatAgentRegistry(chainId, identityRegistry)
  const file = withRegistration(options.file, agentId, agentRegistry)
  const cid = await storeRegistrationFile(options.helia, file, options.signal != null ? { signal: options.signal } : {})
  const uri = registrationFileUri(cid)
  const setAgentURI = await updateAgentURI({ ...options, agentId, uri })
  return {
    agentId,
    agentRegistry,
    cid,
    uri,
    file,
    transactions: { register: receipt.transactionHash, setAgentURI }
  }
}

/** Options of {@link updateAgentURI}. */
export interface UpdateAgentUriOptions extends RegistryWriteOptions {
  agentId: bigint
  /** The new agentURI (`ipfs://…`, `data:…` or `https://…`). */
  uri: string
}

/** Sets an agent's agentURI (owner or approved operator only). Returns the transaction hash. */
export async function updateAgentURI(options: UpdateAgentUriOptions): Promise<Hash> {
  const { walletClient, publicClient, identityRegistry, agentId, uri } = options
  const receipt = await sendAndWait(options, 'setAgentURI', async () => {
    const { request } = await publicClient.simulateContract({
      account: walletClient.account,
      address: identityRegistry,
      abi: identityRegistryAbi,
      functionName: 'setAgentURI',
      args: [agentId, uri]
    })
    return walletClient.writeContract(request)
  })
  return receipt.transactionHash
}

/** Options of {@link bindAgentWallet}. */
export interface BindAgentWalletOptions extends RegistryWriteOptions {
  agentId: bigint
  /** The new agentWallet; it signs the EIP-712 `AgentWalletSet` proof. */
  wallet: LocalAccount
  /** Signature lifetime, counted from the latest block's timestamp; 1…300. @default 240 */
  deadlineSeconds?: number
  /** An absolute deadline (unix seconds) sent as-is, overriding `deadlineSeconds`; the contract checks it. */
  deadline?: bigint
}

/**
 * Makes `wallet` the agent's `agentWallet`: the wallet signs `AgentWalletSet(agentId, newWallet, owner, deadline)`
 * under the registry's EIP-712 domain, and the owner (the wallet client's account) sends `setAgentWallet`.
 *
 * @throws {NotAuthorizedError} the wallet client's account is not the owner or an operator
 * @throws {DeadlineError} the deadline is past or more than 5 minutes ahead
 * @throws {InvalidWalletSignatureError} the proof was not signed by `wallet.address`
 * @throws {AgentNotFoundError}
 */
export async function bindAgentWallet(
  options: BindAgentWalletOptions
): Promise<{ wallet: Address; deadline: bigint; transactionHash: Hash }> {
  const { walletClient, publicClient, identityRegistry, agentId, wallet } = options
  const seconds = options.deadlineSeconds ?? 240
  if (
    options.deadline == null &&
    (!Number.isInteger(seconds) || seconds < 1 || seconds > AGENT_WALLET_MAX_DEADLINE_SECONDS)
  ) {
    throw new DeadlineError(`deadlineSeconds must be an integer in 1…${AGENT_WALLET_MAX_DEADLINE_SECONDS}`)
  }
  options.signal?.throwIfAborted()
  let owner: Address
  let deadline: bigint
  let chainId: number
  try {
    const [agentOwner, block, id] = await Promise.all([
      publicClient.readContract({
        address: identityRegistry,
        abi: identityRegistryAbi,
        functionName: 'ownerOf',
        args: [agentId]
      }),
      publicClient.getBlock({ blockTag: 'latest' }),
      publicClient.chain?.id ?? publicClient.getChainId()
    ])
    owner = agentOwner
    deadline = options.deadline ?? block.timestamp + BigInt(seconds)
    chainId = id
  } catch (error) {
    throw toRegistryError(error, 'ownerOf')
  }
  const signature = await wallet.signTypedData({
    domain: agentWalletDomain(chainId, identityRegistry),
    types: AGENT_WALLET_SET_TYPES,
    primaryType: 'AgentWalletSet',
    message: { agentId, newWallet: wallet.address, owner, deadline }
  })
  const receipt = await sendAndWait(options, 'setAgentWallet', async () => {
    const { request } = await publicClient.simulateContract({
      account: walletClient.account,
      address: identityRegistry,
      abi: identityRegistryAbi,
      functionName: 'setAgentWallet',
      args: [agentId, wallet.address, deadline, signature]
    })
    return walletClient.writeContract(request)
  })
  return { wallet: wallet.address, deadline, transactionHash: receipt.transactionHash }
}

/** An agent's on-chain record. */
export interface AgentRecord {
  agentId: bigint
  owner: Address
  /** The verified payment wallet, or `null` when unset (`0x0`, e.g. after a transfer). */
  agentWallet: Address | null
  /** The agentURI; `''` when never set. */
  agentURI: string
}

/** Options of {@link readAgent}. */
export interface ReadAgentOptions extends AbortOptions {
  publicClient: RegistryPublicClient
  identityRegistry: Address
  agentId: bigint
}

/** Reads an agent's owner, agentWallet and agentURI. @throws {AgentNotFoundError} */
export async function readAgent(options: ReadAgentOptions): Promise<AgentRecord> {
  const { publicClient, identityRegistry, agentId } = options
  options.signal?.throwIfAborted()
  const read = { address: identityRegistry, abi: identityRegistryAbi } as const
  try {
    const [owner, wallet, agentURI] = await Promise.all([
      publicClient.readContract({ ...read, functionName: 'ownerOf', args: [agentId] }),
      publicClient.readContract({ ...read, functionName: 'getAgentWallet', args: [agentId] }),
      publicClient.readContract({ ...read, functionName: 'tokenURI', args: [agentId] })
    ])
    return { agentId, owner, agentWallet: isAddressEqual(wallet, zeroAddress) ? null : wallet, agentURI }
  } catch (error) {
    throw toRegistryError(error, 'read agent')
  }
}

/** Options of {@link resolveAgent}. */
export interface ResolveAgentOptions extends ReadAgentOptions {
  /** Needed for `ipfs://` agentURIs. */
  helia?: HeliaLike
  /** Needed for `https:` agentURIs. */
  fetch?: FetchLike
  /** File retrieval timeout. @default 30 s */
  timeoutMs?: number
}

/** An agent's on-chain record plus its validated registration file. */
export interface ResolvedAgent extends AgentRecord {
  file: RegistrationFile
}

/**
 * Reads an agent from the Identity Registry and fetches its registration file.
 *
 * @throws {AgentNotFoundError}
 * @throws {AgentFileUnavailableError | UnsupportedAgentUriError | InvalidRegistrationFileError | RegistrationFileTooLargeError}
 */
export async function resolveAgent(options: ResolveAgentOptions): Promise<ResolvedAgent> {
  const record = await readAgent(options)
  const file = await fetchAgentFile(record.agentURI, {
    ...(options.helia != null ? { helia: options.helia } : {}),
    ...(options.fetch != null ? { fetch: options.fetch } : {}),
    ...(options.signal != null ? { signal: options.signal } : {}),
    ...(options.timeoutMs != null ? { timeoutMs: options.timeoutMs } : {})
  })
  return { ...record, file }
}
