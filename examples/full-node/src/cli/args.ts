import { homedir } from 'node:os'
import { join } from 'node:path'
import { type ParseArgsConfig, parseArgs } from 'node:util'
import { CliError } from './errors.ts'

/** Flags every command accepts. */
export const GLOBAL_OPTIONS = {
  'data-dir': { type: 'string' },
  network: { type: 'string' },
  devnet: { type: 'string' },
  'rpc-url': { type: 'string' },
  'password-env': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false }
} as const satisfies NonNullable<ParseArgsConfig['options']>

/** Help text for the global flags. */
export const GLOBAL_HELP = `Global options:
  --data-dir <dir>        node data (wallet.json, datastore) (default ~/.betar, or BETAR_DATA_DIR)
  --network <name>        devnet | base | base-sepolia (default devnet, or BETAR_NETWORK)
  --devnet <file>         devnet summary JSON written by \`betar-devnet --json\` (or BETAR_DEVNET)
  --rpc-url <url>         JSON-RPC endpoint (or BETAR_RPC_URL; default: the network's)
  --password-env <VAR>    environment variable holding the keystore password (default BETAR_WALLET_PASSWORD)
  --json                  machine-readable output on stdout
  -h, --help              show the command's help

Wallet: BETAR_WALLET_KEY (a 0x private key) or the encrypted <data-dir>/wallet.json.`

/** The global flags, resolved. */
export interface GlobalFlags {
  dataDir: string
  network: string
  devnet: string | undefined
  rpcUrl: string | undefined
  passwordEnv: string
  json: boolean
}

type Options = NonNullable<ParseArgsConfig['options']>

/** The parsed value of one option declaration. */
export type OptionValue<T> = T extends { type: 'boolean' }
  ? T extends { multiple: true }
    ? boolean[]
    : boolean
  : T extends { multiple: true }
    ? string[]
    : string

/** What {@link parseCommand} returns. */
export interface ParsedCommand<O extends Options> {
  /** The command's own flags (absent when not given). */
  values: { [K in keyof O]?: OptionValue<O[K]> }
  positionals: string[]
  globals: GlobalFlags
  help: boolean
}

/**
 * Parses one command's arguments (after the command name) with the global flags. Throws {@link CliError} on an
 * unknown flag, a missing value or a wrong number of positionals.
 */
export function parseCommand<O extends Options>(
  argv: string[],
  options: O,
  positionals: { min: number; max: number; usage: string }
): ParsedCommand<O> {
  const config = {
    args: argv,
    options: { ...GLOBAL_OPTIONS, ...options },
    allowPositionals: true,
    strict: true
  } as const
  let parsed: { values: Record<string, unknown>; positionals: string[] }
  try {
    parsed = parseArgs(config)
  } catch (err) {
    throw new CliError(`${err instanceof Error ? err.message : String(err)}\nUsage: ${positionals.usage}`)
  }
  const { values } = parsed
  if (values.help !== true) {
    const n = parsed.positionals.length
    if (n < positionals.min || n > positionals.max) {
      throw new CliError(`expected ${describeCount(positionals)} argument(s), got ${n}\nUsage: ${positionals.usage}`)
    }
  }
  const env = process.env
  const str = (key: string): string | undefined => {
    const v = values[key]
    return typeof v === 'string' ? v : undefined
  }
  const globals: GlobalFlags = {
    dataDir: str('data-dir') ?? nonEmpty(env.BETAR_DATA_DIR) ?? join(homedir(), '.betar'),
    network: str('network') ?? nonEmpty(env.BETAR_NETWORK) ?? 'devnet',
    devnet: str('devnet') ?? nonEmpty(env.BETAR_DEVNET),
    rpcUrl: str('rpc-url') ?? nonEmpty(env.BETAR_RPC_URL),
    passwordEnv: str('password-env') ?? 'BETAR_WALLET_PASSWORD',
    json: values.json === true
  }
  return {
    values: values as ParsedCommand<O>['values'],
    positionals: parsed.positionals,
    globals,
    help: values.help === true
  }
}

function describeCount({ min, max }: { min: number; max: number }): string {
  return min === max ? String(min) : `${min}–${max}`
}

function nonEmpty(value: string | undefined): string | undefined {
  return value == null || value === '' ? undefined : value
}

/** Parses a decimal USDC amount (`0.25`) into atomic units, or throws a {@link CliError} naming the flag. */
export function parseUsdc(flag: string, value: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,6}))?$/.exec(value.trim())
  if (match == null) throw new CliError(`${flag} must be a USDC amount like 0.25, got "${value}"`)
  const whole = BigInt(match[1] ?? '0')
  const fraction = BigInt((match[2] ?? '').padEnd(6, '0'))
  return whole * 1_000_000n + fraction
}

/** Parses a positive integer flag. */
export function parsePositiveInt(flag: string, value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`${flag} must be a positive integer, got "${value}"`)
  return n
}
