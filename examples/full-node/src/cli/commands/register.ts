import { buildRegistrationFile, ensureAgentRegistration, formatAgentRegistry } from '@betar/identity'
import { GLOBAL_HELP, parseCommand } from '../args.ts'
import type { Command } from '../command.ts'
import { CliError } from '../errors.ts'
import { out, outJson, progress } from '../output.ts'
import { withNode } from '../session.ts'
import { loadAgents } from './agents.ts'

const USAGE = 'betar register --agents <config.yaml> --name <agent> [options]'
const HELP = `Usage: ${USAGE}

Registers one agent of the config on the ERC-8004 Identity Registry (owned by the wallet), with a registration
file naming this node's peer id (kept in <data-dir>/datastore). Nothing is listed or served: \`betar start\`
does that. The file lives on this process's Helia, so peers can fetch it only while a node serves it.
Idempotent: an agent of the same name this wallet registered before (remembered in the data dir, or found by its
on-chain agentName metadata) is reused, and its agentURI updated only when the file changed.

  --agents <file>   the agents config
  --name <agent>    the agent to register

${GLOBAL_HELP}`

/** `betar register --agents <config> --name <agent>`. */
export const registerCommand: Command = {
  name: 'register',
  summary: 'register an agent on the ERC-8004 Identity Registry',
  async run(argv) {
    const { values, globals, help } = parseCommand(
      argv,
      { agents: { type: 'string' }, name: { type: 'string' } },
      { min: 0, max: 0, usage: USAGE }
    )
    if (help) return out(HELP)
    const agents = await loadAgents(values.agents)
    if (values.name == null) throw new CliError(`--name <agent> is required\nUsage: ${USAGE}`)
    const agent = agents.find((a) => a.name === values.name)
    if (agent == null) {
      throw new CliError(
        `no agent named "${values.name}" in ${values.agents} (has: ${agents.map((a) => a.name).join(', ')})`
      )
    }
    const registration = await withNode(globals, { persistent: true }, async (node) => {
      const { identityRegistry } = node.network.erc8004
      const { publicClient, walletClient } = node.clients
      progress(`registering "${agent.name}" on ${identityRegistry}…`)
      const agentRegistry = formatAgentRegistry(publicClient.chain.id, identityRegistry)
      const known = await node.agentIds.get(agentRegistry, agent.name)
      // Idempotent: an agent this wallet registered before under the same name is reused (and its file updated).
      const ensured = await ensureAgentRegistration({
        walletClient,
        publicClient,
        identityRegistry,
        file: buildRegistrationFile({
          name: agent.name,
          description: agent.description,
          x402Support: true,
          peerId: node.libp2p.peerId,
          multiaddrs: [],
          supportedTrust: ['reputation']
        }),
        helia: node.helia,
        ...(known != null ? { agentId: known } : {})
      })
      await node.agentIds.put(agentRegistry, agent.name, ensured.agentId)
      return ensured
    })
    if (globals.json) {
      return outJson({
        agentId: registration.agentId,
        agentRegistry: registration.agentRegistry,
        uri: registration.uri,
        action: registration.action,
        transactions: registration.transactions
      })
    }
    const verb = registration.action === 'registered' ? 'Registered' : `Already registered (${registration.action})`
    out(`${verb} "${agent.name}" as ERC-8004 agentId ${registration.agentId} in ${registration.agentRegistry}`)
    out(`agentURI ${registration.uri}`)
    const txs = Object.entries(registration.transactions).map(([name, hash]) => `${name} tx ${hash}`)
    if (txs.length > 0) out(txs.join(', '))
  }
}
