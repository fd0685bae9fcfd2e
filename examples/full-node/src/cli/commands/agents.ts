import { type AgentConfig, AgentsConfigError, loadAgentsConfig } from '@betar/executor'
import { formatUsdc } from '@betar/node/utils'
import { formatUnits } from 'viem'
import { GLOBAL_HELP, parseCommand } from '../args.ts'
import type { Command } from '../command.ts'
import { CliError } from '../errors.ts'
import { out, outJson } from '../output.ts'

const USAGE = 'betar agents --agents <config.yaml> [options]'
const HELP = `Usage: ${USAGE}

Validates an agents config (YAML or JSON) and lists its agents.

  --agents <file>   the agents config

${GLOBAL_HELP}`

/** Loads and validates an agents config, turning validation failures into a {@link CliError} naming each path. */
export async function loadAgents(path: string | undefined): Promise<AgentConfig[]> {
  if (path == null) throw new CliError(`--agents <config.yaml> is required\nUsage: ${USAGE}`)
  try {
    return (await loadAgentsConfig(path)).agents
  } catch (err) {
    if (err instanceof AgentsConfigError) {
      const issues = err.issues.map((i) => `  ${i.path === '' ? '(file)' : i.path}: ${i.message}`).join('\n')
      throw new CliError(`invalid agents config ${path}:\n${issues}`)
    }
    throw err
  }
}

/** `betar agents --agents <config>`. */
export const agentsCommand: Command = {
  name: 'agents',
  summary: 'list (and validate) the agents of a config file',
  async run(argv) {
    const { values, globals, help } = parseCommand(
      argv,
      { agents: { type: 'string' } },
      { min: 0, max: 0, usage: USAGE }
    )
    if (help) return out(HELP)
    const agents = await loadAgents(values.agents)
    if (globals.json) {
      return outJson(
        agents.map((a) => ({
          name: a.name,
          description: a.description,
          capabilities: a.capabilities,
          price: a.price.amount,
          priceUsdc: formatUnits(BigInt(a.price.amount), 6),
          executor: a.executor.kind
        }))
      )
    }
    if (agents.length === 0) return out('No agents.')
    for (const a of agents) {
      out(`${a.name}  ${formatUsdc(BigInt(a.price.amount))}  [${a.capabilities.join(', ')}]  (${a.executor.kind})`)
      if (a.description !== '') out(`    ${a.description}`)
    }
  }
}
