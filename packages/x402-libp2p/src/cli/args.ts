import { parseArgs } from 'node:util'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { type Address, type Hex, isAddress, isHex } from 'viem'

/** A mistake in the command line: printed with the usage line, exit code 2, never a stack trace. */
export class UsageError extends Error {
  static override name = 'UsageError'
  constructor(message = 'invalid arguments') {
    super(message)
    this.name = 'UsageError'
  }
}

/** The devnet's port with `--devnet`: anvil's and Hardhat's usual one, so a target can be configured before the run. */
export const DEFAULT_DEVNET_PORT = 8545

export const HELP = `Usage: betar-conformance <multiaddr> [options]

Runs the /x402/libp2p/2.0.0 conformance suite (docs/spec/x402-libp2p.md) against a remote node.
The transport (TCP or QUIC) is chosen from the multiaddr; it must end in /p2p/<peer id>.

Options:
  --rpc <url>            JSON-RPC URL of the chain the target settles on (env BETAR_RPC_URL)
  --payer-key <hex>      private key of a funded payer (env BETAR_PAYER_KEY)
  --devnet               start the embedded devnet (@betar/devnet) for the run instead of --rpc/--payer-key:
                         same USDC address and accounts on every start; pays from devnet account 1,
                         leaves account 0 to the target
  --devnet-port <port>   its loopback port, where the target's RPC must point (default: 8545)
  --facilitator-port <port>
                         with --devnet, also serve the devnet's x402 facilitator on this port
  --resource <name>      paid resource to call (required)
  --amount <atomic>      its expected price in atomic units (default: what the target offers)
  --pay-to <address>     the expected payee (default: what the target offers)
  --asset <address>      the expected EIP-3009 token (default: what the target offers on the RPC's chain)
  --free <name>          a free resource, if the target has one
  --failing <name>       a paid resource whose handler always fails, if any
  --protocol <id>        protocol id (default: /x402/libp2p/2.0.0)
  --frame-timeout <ms>   the target's frame timeout (default: 10000)
  --case-timeout <ms>    per-case timeout (default: 30000)
  --filter <regexp>      only run cases whose id matches
  --json                 print machine-readable results
  -h, --help             show this help

Exit codes: 0 all cases passed, 1 a case failed, 2 usage error.`

/** Start the embedded devnet for the run (`--devnet`). */
export interface CliDevnetOptions {
  port: number
  facilitatorPort?: number
}

export interface CliOptions {
  target: Multiaddr
  /** The chain and payer: given, or (with `devnet`) taken from the devnet once it runs. */
  rpc?: string
  payerKey?: Hex
  devnet?: CliDevnetOptions
  resource: string
  amount?: bigint
  payTo?: Address
  asset?: Address
  free?: string
  failing?: string
  protocol?: string
  frameTimeoutMs?: number
  caseTimeoutMs?: number
  filter?: RegExp
  json: boolean
}

function port(name: string, value: string | undefined): number | undefined {
  if (value == null) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65_535 || !/^[0-9]+$/.test(value)) {
    throw new UsageError(`--${name} must be a port number (0-65535), got "${value}"`)
  }
  return n
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value == null) return undefined
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer, got "${value}"`)
  return n
}

function required(name: string, value: string | undefined, env?: string): string {
  if (value == null || value === '') {
    throw new UsageError(`missing --${name}${env != null ? ` (or env ${env})` : ''}`)
  }
  return value
}

/** Parses argv (without node and script); returns `'help'` for --help. Throws UsageError. */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv = process.env): CliOptions | 'help' {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const { values: v, positionals } = parsed
  if (v.help === true) return 'help'
  if (positionals.length !== 1) throw new UsageError('expected exactly one <multiaddr>')
  let target: Multiaddr
  try {
    target = multiaddr(positionals[0]!)
  } catch {
    throw new UsageError(`not a multiaddr: "${positionals[0]}"`)
  }
  if (!target.getComponents().some((c) => c.name === 'p2p'))
    throw new UsageError('the multiaddr must end in /p2p/<peer id>')
  const devnet = v.devnet === true
  if (!devnet && v['devnet-port'] != null) throw new UsageError('--devnet-port needs --devnet')
  if (!devnet && v['facilitator-port'] != null) throw new UsageError('--facilitator-port needs --devnet')
  if (devnet && v.rpc != null) throw new UsageError('--devnet and --rpc are exclusive: the devnet is the chain')
  if (devnet && v['payer-key'] != null)
    throw new UsageError('--devnet and --payer-key are exclusive: it pays from a devnet account')
  let payerKey: string | undefined
  if (!devnet) {
    payerKey = required('payer-key', v['payer-key'] ?? env.BETAR_PAYER_KEY, 'BETAR_PAYER_KEY')
    if (!isHex(payerKey) || payerKey.length !== 66) throw new UsageError('--payer-key must be a 32-byte 0x-hex key')
  }
  const payTo = v['pay-to']
  if (payTo != null && !isAddress(payTo)) throw new UsageError(`--pay-to is not an address: "${payTo}"`)
  const asset = v.asset
  if (asset != null && !isAddress(asset)) throw new UsageError(`--asset is not an address: "${asset}"`)
  const amount = v.amount
  if (amount != null && !/^[1-9][0-9]*$/.test(amount)) {
    throw new UsageError(`--amount must be a positive integer, got "${amount}"`)
  }
  let filter: RegExp | undefined
  if (v.filter != null) {
    try {
      filter = new RegExp(v.filter)
    } catch {
      throw new UsageError(`--filter is not a regular expression: "${v.filter}"`)
    }
  }
  const opts: CliOptions = {
    target,
    resource: required('resource', v.resource),
    json: v.json === true
  }
  if (devnet) {
    opts.devnet = { port: port('devnet-port', v['devnet-port']) ?? DEFAULT_DEVNET_PORT }
    const facilitatorPort = port('facilitator-port', v['facilitator-port'])
    if (facilitatorPort != null) opts.devnet.facilitatorPort = facilitatorPort
  } else {
    opts.rpc = required('rpc', v.rpc ?? env.BETAR_RPC_URL, 'BETAR_RPC_URL')
    opts.payerKey = payerKey as Hex
  }
  if (amount != null) opts.amount = BigInt(amount)
  if (payTo != null) opts.payTo = payTo
  if (asset != null) opts.asset = asset
  if (v.free != null) opts.free = v.free
  if (v.failing != null) opts.failing = v.failing
  if (v.protocol != null) opts.protocol = v.protocol
  const frame = positiveInt('frame-timeout', v['frame-timeout'])
  if (frame != null) opts.frameTimeoutMs = frame
  const caseTimeout = positiveInt('case-timeout', v['case-timeout'])
  if (caseTimeout != null) opts.caseTimeoutMs = caseTimeout
  if (filter != null) opts.filter = filter
  return opts
}

function parse(argv: string[]) {
  const s = { type: 'string' } as const
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      rpc: s,
      'payer-key': s,
      devnet: { type: 'boolean' },
      'devnet-port': s,
      'facilitator-port': s,
      resource: s,
      amount: s,
      'pay-to': s,
      asset: s,
      free: s,
      failing: s,
      protocol: s,
      'frame-timeout': s,
      'case-timeout': s,
      filter: s,
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    }
  })
}
