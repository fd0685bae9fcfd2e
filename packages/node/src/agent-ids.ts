import type { AbortOptions } from '@libp2p/interface'
import { type Datastore, Key } from 'interface-datastore'

const PREFIX = '/betar/agents'

/**
 * The ERC-8004 agentIds this node registered, per registry and agent name, kept in the node's datastore so a restart
 * reuses the agent (and its reputation) instead of minting a new one.
 */
export class AgentIds {
  readonly #datastore: Datastore

  constructor(datastore: Datastore) {
    this.#datastore = datastore
  }

  /** The agentId remembered for `name` in `agentRegistry` (`eip155:<chainId>:<identityRegistry>`), if any. */
  async get(agentRegistry: string, name: string, options: AbortOptions = {}): Promise<bigint | undefined> {
    const key = this.#key(agentRegistry, name)
    if (!(await this.#datastore.has(key, options))) return undefined
    const text = new TextDecoder().decode(await this.#datastore.get(key, options))
    return /^\d+$/.test(text) ? BigInt(text) : undefined
  }

  async put(agentRegistry: string, name: string, agentId: bigint, options: AbortOptions = {}): Promise<void> {
    await this.#datastore.put(this.#key(agentRegistry, name), new TextEncoder().encode(agentId.toString()), options)
  }

  #key(agentRegistry: string, name: string): Key {
    // Names are free text: encoded so no character can change the key's shape.
    return new Key(`${PREFIX}/${encodeURIComponent(agentRegistry.toLowerCase())}/${encodeURIComponent(name)}`)
  }
}
