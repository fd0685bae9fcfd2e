import { identityRegistryAbi } from '@betar/contracts'
import type { CID } from 'multiformats/cid'
import { type Address, type Hash, isAddressEqual, toHex } from 'viem'
import { type AgentRegistryId, formatAgentRegistry } from './agent-registry.ts'
import type { RegistryWriteOptions } from './clients.ts'
import { AgentNotFoundError } from './errors.ts'
import { type RegistrationFile, withRegistration } from './registration-file.ts'
import { readAgent, registerAgent, updateAgentURI } from './registry.ts'
import { toRegistryError } from './revert.ts'
import { type HeliaLike, registrationFileUri, storeRegistrationFile } from './storage.ts'

/** Options of {@link ensureAgentRegistration}. */
export interface EnsureAgentRegistrationOptions extends RegistryWriteOptions {
  /** The registration file the agent should have now (its entry for this registry is filled in). */
  file: RegistrationFile
  /** Where the file is stored (and served to peers over bitswap). */
  helia: HeliaLike
  /** The agentId this owner registered for the agent earlier, as the caller remembers it (e.g. in its datastore). */
  agentId?: bigint
  /**
   * When no (valid) `agentId` is known, look through the owner's `Registered` events from this block for an agent it
   * still owns whose on-chain `agentName` metadata is the file's `name`, before minting a new one. `false` mints
   * without looking. @default 0n
   */
  recoverFromBlock?: bigint | false
}

/** The on-chain metadata key under which {@link ensureAgentRegistration} records the agent's name at mint time. */
export const AGENT_NAME_METADATA_KEY = 'agentName'

/** What {@link ensureAgentRegistration} did. */
export interface EnsuredAgentRegistration {
  agentId: bigint
  agentRegistry: AgentRegistryId
  cid: CID
  uri: `ipfs://${string}`
  file: RegistrationFile
  /**
   * `registered`: a new agent was minted; `recovered`: a lost agentId was found in the owner's `Registered` events;
   * `updated`: the agentURI changed (the file's content did); `unchanged`: nothing was sent.
   */
  action: 'registered' | 'recovered' | 'updated' | 'unchanged'
  /** Transactions sent (none when `unchanged`). */
  transactions: { register?: Hash; setAgentURI?: Hash }
}

/**
 * Idempotent ERC-8004 registration for an agent that restarts: reuses the agent the owner registered before — the
 * remembered `agentId`, confirmed on-chain (it exists and the wallet client's account still owns it), or else one
 * recovered from the owner's `Registered` events whose `agentName` metadata is the file's `name` — and sends `setAgentURI` only when
 * the file's content (hence its CID) changed. Mints a new agent ({@link registerAgent}) only when none is found.
 * The file is stored on `helia` in every case, so this node serves it.
 *
 * @throws {RegistryError} and its subclasses for reverts; viem errors for RPC failures.
 */
export async function ensureAgentRegistration(
  options: EnsureAgentRegistrationOptions
): Promise<EnsuredAgentRegistration> {
  const { walletClient, publicClient, identityRegistry } = options
  const owner = walletClient.account.address
  const chainId = publicClient.chain?.id ?? (await publicClient.getChainId())
  const agentRegistry = formatAgentRegistry(chainId, identityRegistry)
  const signalOpt = options.signal != null ? { signal: options.signal } : {}

  let agentId = options.agentId != null ? await owned(options, options.agentId, owner) : undefined
  let action: EnsuredAgentRegistration['action'] = 'unchanged'
  if (agentId == null && options.recoverFromBlock !== false) {
    agentId = await recover(options, owner, options.recoverFromBlock ?? 0n)
    if (agentId != null) action = 'recovered'
  }
  if (agentId == null) {
    const registered = await registerAgent({ ...options, metadata: { [AGENT_NAME_METADATA_KEY]: options.file.name } })
    return { ...registered, action: 'registered', transactions: registered.transactions }
  }

  const file = withRegistration(options.file, agentId, agentRegistry)
  const cid = await storeRegistrationFile(options.helia, file, signalOpt)
  const uri = registrationFileUri(cid)
  const record = await readAgent({ publicClient, identityRegistry, agentId, ...signalOpt })
  if (record.agentURI === uri) return { agentId, agentRegistry, cid, uri, file, action, transactions: {} }
  const setAgentURI = await updateAgentURI({ ...options, agentId, uri })
  return {
    agentId,
    agentRegistry,
    cid,
    uri,
    file,
    action: action === 'recovered' ? 'recovered' : 'updated',
    transactions: { setAgentURI }
  }
}

/** `agentId` when it exists and `owner` owns it, else `undefined`. */
async function owned(
  options: EnsureAgentRegistrationOptions,
  agentId: bigint,
  owner: Address
): Promise<bigint | undefined> {
  try {
    const record = await readAgent({
      publicClient: options.publicClient,
      identityRegistry: options.identityRegistry,
      agentId,
      ...(options.signal != null ? { signal: options.signal } : {})
    })
    return isAddressEqual(record.owner, owner) ? agentId : undefined
  } catch (error) {
    if (error instanceof AgentNotFoundError) return undefined
    throw error
  }
}

/** The newest agent `owner` registered and still owns whose `agentName` metadata is `options.file.name`. */
async function recover(
  options: EnsureAgentRegistrationOptions,
  owner: Address,
  fromBlock: bigint
): Promise<bigint | undefined> {
  const { publicClient, identityRegistry } = options
  const events = await publicClient
    .getContractEvents({
      address: identityRegistry,
      abi: identityRegistryAbi,
      eventName: 'Registered',
      args: { owner },
      fromBlock
    })
    .catch((error: unknown) => {
      throw toRegistryError(error, 'Registered events')
    })
  const name = toHex(options.file.name)
  for (const event of events.reverse()) {
    options.signal?.throwIfAborted()
    const agentId = event.args.agentId
    if (agentId == null) continue
    const value = await publicClient
      .readContract({
        address: identityRegistry,
        abi: identityRegistryAbi,
        functionName: 'getMetadata',
        args: [agentId, AGENT_NAME_METADATA_KEY]
      })
      .catch((error: unknown) => {
        throw toRegistryError(error, 'getMetadata')
      })
    if (value === name && (await owned(options, agentId, owner)) != null) return agentId
  }
  return undefined
}
