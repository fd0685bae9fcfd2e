import { GLOBAL_HELP } from './args.ts'
import type { CommandEntry } from './command.ts'
import { CliError } from './errors.ts'

/** Every `betar` command, loaded lazily so `--help` and flag errors do not import libp2p. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'start',
    summary: 'run the node and sell the configured agents until Ctrl-C',
    load: async () => (await import('./commands/start.ts')).startCommand
  },
  {
    name: 'agents',
    summary: 'list (and validate) the agents of a config file',
    load: async () => (await import('./commands/agents.ts')).agentsCommand
  },
  {
    name: 'discover',
    summary: 'list the sellers offering a capability',
    load: async () => (await import('./commands/discover.ts')).discoverCommand
  },
  {
    name: 'call',
    summary: 'buy one job from the cheapest seller of a capability (or resume one)',
    load: async () => (await import('./commands/call.ts')).callCommand
  },
  {
    name: 'calls',
    summary: "list this node's calls as a buyer (or show one)",
    load: async () => (await import('./commands/calls.ts')).callsCommand
  },
  {
    name: 'sales',
    summary: "list this node's sales as a seller and its earnings per agent",
    load: async () => (await import('./commands/sales.ts')).salesCommand
  },
  {
    name: 'register',
    summary: 'register an agent on the ERC-8004 Identity Registry',
    load: async () => (await import('./commands/register.ts')).registerCommand
  },
  {
    name: 'reputation',
    summary: "an agent's payment-backed ERC-8004 reputation",
    load: async () => (await import('./commands/reputation.ts')).reputationCommand
  },
  {
    name: 'workflow',
    summary: 'run a paid multi-agent workflow from a YAML file, or show, cancel, resume one and its receipt',
    load: async () => (await import('./commands/workflow.ts')).workflowCommand
  },
  {
    name: 'wallet',
    summary: 'show the wallet address and USDC balance, or create an encrypted wallet',
    load: async () => (await import('./commands/wallet.ts')).walletCommand
  }
]

const HELP = `Usage: betar <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join('\n')}

Run \`betar <command> --help\` for a command's options.

${GLOBAL_HELP}`

/**
 * Runs the `betar` CLI on `argv` (without `node` and the script) and resolves to the exit code: 0 on success, 1 with
 * the message on stderr on failure. Errors other than {@link CliError} are reported by message only (no stack, no
 * values that could hold secrets) unless `BETAR_DEBUG` is set.
 */
export async function main(argv: string[]): Promise<number> {
  // A closed pipe (`betar discover … | head`) is a normal way to stop reading.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0)
  })
  const [name, ...rest] = argv
  if (name == null || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(`${HELP}\n`)
    return name == null ? 1 : 0
  }
  const entry = COMMANDS.find((c) => c.name === name)
  if (entry == null) {
    process.stderr.write(`betar: unknown command "${name}"\n\n${HELP}\n`)
    return 1
  }
  try {
    await (await entry.load()).run(rest)
    return 0
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    process.stderr.write(`betar ${name}: ${err instanceof CliError ? message : firstLines(message)}\n`)
    if (process.env.BETAR_DEBUG != null && err instanceof Error && err.stack != null) {
      process.stderr.write(`${err.stack}\n`)
    }
    return 1
  }
}

function firstLines(message: string): string {
  return message.split('\n').slice(0, 3).join('\n')
}
