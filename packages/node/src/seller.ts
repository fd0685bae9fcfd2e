import {
  type AgentConfig,
  type CreateExecutorOptions,
  createExecutor,
  InputValidationError,
  parseAgentConfig,
  probeExecutor,
  toX402Handler,
  validateRequestBody
} from '@betar/executor'
import {
  bindAgentWallet,
  buildRegistrationFile,
  type EnsuredAgentRegistration,
  ensureAgentRegistration,
  formatAgentRegistry,
  readAgent
} from '@betar/identity'
import type { Listing, PublishInput } from '@betar/marketplace-crdt'
import { InvalidRequestError, type X402Resource } from '@betar/x402-libp2p'
import type { Address, Hash } from 'viem'
import { AgentUnhealthyError } from './errors.ts'
import type { BetarNode } from './node.ts'

/** Options of {@link sellAgent}. */
export interface SellAgentOptions {
  /** @default the node network's Identity Registry */
  identityRegistry?: Address
  /** Where buyers rate the agent (returned for them). @default the node network's Reputation Registry */
  reputationRegistry?: Address
  /** Passed to `createExecutor` (e.g. an offline ADK model, or registered functions). */
  executor?: CreateExecutorOptions
  /** Longest authorization the listing accepts. @default 300 */
  maxTimeoutSeconds?: number
  /**
   * Probe the executor before listing (function module resolvable, OpenAI-compatible `/models` answering, ADK key
   * present) and keep probing it (the node's `health`): a failing agent is refused with {@link AgentUnhealthyError}
   * before anything is registered, and delisted when it keeps failing later. @default true
   */
  healthCheck?: boolean
  /** Longest wait of one health probe (ms). @default 5000 */
  healthTimeoutMs?: number
}

/** Everything {@link sellAgent} did, step by step. */
export interface SoldAgent {
  /**
   * The ERC-8004 registration: agentId, agentRegistry, the file's CID on Helia, what was done (`registered`,
   * `recovered`, `updated` or `unchanged` — a restart reuses the agent) and the transactions sent.
   */
  registration: EnsuredAgentRegistration
  /** The agentWallet binding (the node's wallet); `transactionHash` only when it had to be (re)bound. */
  wallet: { wallet: Address; transactionHash?: Hash }
  /** The x402 resource name served on `/x402/libp2p/2.0.0`. */
  resource: string
  /** The signed marketplace listing. */
  listing: Listing
  /** Where the agent's feedback goes. */
  reputationRegistry: Address
}

/**
 * Puts an agent on sale from this node: checks its executor works (else throws {@link AgentUnhealthyError} before
 * anything is written), registers it on the ERC-8004 Identity Registry (registration file on Helia), binds the node's
 * wallet as its agentWallet, serves it as a paid x402 resource run by its executor — input checked against its
 * `inputSchema` before any payment, settled `before` (refunded if the task fails) or `after` the task as configured —
 * and publishes the signed listing (paid to the agent wallet, with its ERC-8004 identity) on the marketplace; the
 * node's `health` then keeps probing it.
 *
 * @throws {AgentsConfigError} the agent config breaks a rule (e.g. a capability the marketplace refuses): nothing sent
 * @throws {AgentUnhealthyError} the executor fails its probe: nothing sent
 */
export async function sellAgent(
  node: BetarNode,
  agent: AgentConfig,
  options: SellAgentOptions = {}
): Promise<SoldAgent> {
  const probe = (signal?: AbortSignal) =>
    probeExecutor(agent, {
      ...options.executor,
      timeoutMs: options.healthTimeoutMs ?? 5_000,
      ...(signal != null ? { signal } : {})
    })
  // Everything the marketplace would refuse is refused before anything is registered (and gas spent).
  parseAgentConfig(agent)
  if (options.healthCheck !== false) {
    const health = await probe()
    if (!health.ok) throw new AgentUnhealthyError(agent.name, health.problem)
  }
  const identityRegistry = options.identityRegistry ?? node.network.erc8004.identityRegistry
  const reputationRegistry = options.reputationRegistry ?? node.network.erc8004.reputationRegistry
  const { walletClient, publicClient } = node.clients
  const file = buildRegistrationFile({
    name: agent.name,
    description: agent.description,
    x402Support: true,
    peerId: node.libp2p.peerId,
    multiaddrs: node.multiaddrs(),
    supportedTrust: ['reputation']
  })
  const chainId = publicClient.chain?.id ?? (await publicClient.getChainId())
  const agentRegistry = formatAgentRegistry(chainId, identityRegistry)
  const remembered = await node.agentIds.get(agentRegistry, agent.name)
  const registration = await ensureAgentRegistration({
    walletClient,
    publicClient,
    identityRegistry,
    file,
    helia: node.helia,
    ...(remembered != null ? { agentId: remembered } : {})
  })
  await node.agentIds.put(agentRegistry, agent.name, registration.agentId)
  const record = await readAgent({ publicClient, identityRegistry, agentId: registration.agentId })
  const wallet: SoldAgent['wallet'] =
    record.agentWallet != null && record.agentWallet.toLowerCase() === node.wallet.address.toLowerCase()
      ? { wallet: record.agentWallet }
      : await bindAgentWallet({
          walletClient,
          publicClient,
          identityRegistry,
          agentId: registration.agentId,
          wallet: node.wallet
        })

  const handler = toX402Handler({
    executor: createExecutor(agent, options.executor),
    inputSchema: agent.inputSchema,
    outputSchema: agent.outputSchema,
    timeoutMs: agent.timeoutMs
  })
  const resource: X402Resource = {
    price: { amount: BigInt(agent.price.amount), payTo: wallet.wallet },
    handler,
    // Deterministic checks before any payment: input the task would refuse is never paid for.
    validate: (request) => {
      try {
        validateRequestBody(request.body, agent.inputSchema)
      } catch (err) {
        if (err instanceof InputValidationError) throw new InvalidRequestError(err.message)
        throw err
      }
    },
    settlement: agent.settlement ?? 'before',
    description: agent.description,
    mimeType: 'application/json'
  }
  node.services.x402.register(agent.name, resource)

  const { usdc, caip2 } = node.network
  const publishInput: PublishInput = {
    id: agent.name,
    resource: agent.name,
    name: agent.name,
    description: agent.description,
    capabilities: agent.capabilities,
    ...(isObject(agent.inputSchema) ? { inputSchema: agent.inputSchema } : {}),
    ...(isObject(agent.outputSchema) ? { outputSchema: agent.outputSchema } : {}),
    price: {
      scheme: 'exact',
      network: caip2,
      amount: agent.price.amount,
      asset: usdc.address,
      payTo: wallet.wallet,
      maxTimeoutSeconds: options.maxTimeoutSeconds ?? 300,
      extra: { name: usdc.name, version: usdc.version }
    },
    erc8004: { agentId: registration.agentId.toString(), agentRegistry: registration.agentRegistry }
  }
  const listing = await node.services.market.publish(publishInput)
  if (options.healthCheck !== false) {
    node.health.watch({ name: agent.name, probe, resource, listing: publishInput })
  }
  return { registration, wallet, resource: agent.name, listing, reputationRegistry }
}

function isObject(schema: AgentConfig['inputSchema']): schema is Record<string, unknown> {
  return schema != null && typeof schema === 'object'
}

/**
 * Withdraws this node's own listings that it does not sell now — restored from its datastore after a restart, for an
 * agent renamed, removed from the config or refused by its health check — so buyers stop finding a resource that is
 * gone. `selling` are the listing ids to keep (a sold agent's listing id is its name). Returns the ids delisted.
 */
export async function delistUnsold(node: BetarNode, selling: Iterable<string>): Promise<string[]> {
  const keep = new Set(selling)
  const stale = node.services.market
    .find({ sellers: [node.peerId], limit: 100_000 })
    .map((l) => l.id)
    .filter((id) => !keep.has(id))
  for (const id of new Set(stale)) await node.services.market.delist(id)
  return [...new Set(stale)]
}
