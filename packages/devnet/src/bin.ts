#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { formatUnits } from 'viem'
import { fundCommand } from './fund-cli.ts'
import { DEFAULT_USDC_PER_ACCOUNT, type Devnet, startDevnet } from './index.ts'

const HELP = `Usage: betar-devnet [options]
       betar-devnet fund <address> [--usdc N] [--eth N] (--devnet <file> | --rpc-url <url>)

Starts a local EVM devnet with real USDC, Multicall3 and the ERC-8004 registries,
prints its contracts and funded accounts, and runs until Ctrl-C.

Options:
  --accounts <n>   funded accounts (default 10)
  --usdc <amount>  USDC per account, in whole USDC (default 10000)
  --port <port>    RPC port on 127.0.0.1 (default: a free one)
  --chain-id <id>  chain id (default 31337)
  --block-time <s> seconds between blocks after deployment (default: a block per transaction)
  --json           print the summary as JSON (what \`betar --devnet <file>\` reads:
                   betar-devnet --json > devnet.json)
  --once           print the summary and exit (stops the chain)
  -h, --help       show this help

\`betar-devnet fund --help\` describes the faucet of a running devnet.`

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value == null) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new TypeError(`--${name} must be a non-negative integer, got "${value}"`)
  return n
}

function printHuman(devnet: Devnet, ms: number): void {
  const s = devnet.toJSON()
  const out = process.stdout
  out.write(`Betar devnet up in ${ms} ms\n\n`)
  out.write(`  RPC        ${s.rpcUrl}\n  chain      ${s.chainId} (${s.network})\n\n`)
  out.write('Contracts\n')
  for (const [name, address] of Object.entries(s.contracts)) out.write(`  ${name.padEnd(20)} ${address}\n`)
  out.write(`\nUSDC EIP-712 domain: name "${s.usdc.name}", version "${s.usdc.version}", ${s.usdc.decimals} decimals\n`)
  out.write('\nFunded accounts (public dev keys, never use them on a real chain)\n')
  for (const a of s.accounts) out.write(`  #${String(a.index).padEnd(3)} ${a.address}  ${a.privateKey}\n`)
  out.write(`\n${CLI_HINT}\n`)
}

/** How to point the `betar` CLI at a devnet: it reads the JSON summary, not this human one. */
const CLI_HINT = `The betar CLI reads a devnet from its JSON summary. Start the devnet with
  betar-devnet --json > devnet.json &        (in the repository: pnpm betar-devnet --json > devnet.json &)
then pass --devnet devnet.json (or set BETAR_DEVNET=devnet.json) to every betar command, e.g.
  betar wallet --devnet devnet.json          (in the repository: pnpm betar wallet --devnet devnet.json)`

// A closed pipe (`betar-devnet | head`) is a normal way to stop reading: exit quietly, stopping the chain.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
})

async function main(): Promise<void> {
  if (process.argv[2] === 'fund') return fundCommand(process.argv.slice(3))
  const { values } = parseArgs({
    options: {
      accounts: { type: 'string' },
      usdc: { type: 'string' },
      port: { type: 'string' },
      'chain-id': { type: 'string' },
      'block-time': { type: 'string' },
      json: { type: 'boolean', default: false },
      once: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    },
    strict: true
  })
  if (values.help) {
    process.stdout.write(`${HELP}\n`)
    return
  }
  const accounts = positiveInt('accounts', values.accounts)
  const usdc = positiveInt('usdc', values.usdc)
  const port = positiveInt('port', values.port)
  const chainId = positiveInt('chain-id', values['chain-id'])
  const blockTime = positiveInt('block-time', values['block-time'])

  const usdcPerAccount = usdc != null ? BigInt(usdc) * 1_000_000n : DEFAULT_USDC_PER_ACCOUNT

  const started = performance.now()
  const devnet = await startDevnet({
    ...(accounts != null ? { accounts } : {}),
    usdcPerAccount,
    ...(port != null ? { port } : {}),
    ...(chainId != null ? { chainId } : {}),
    ...(blockTime != null && blockTime > 0 ? { blockTime } : {})
  })
  const ms = Math.round(performance.now() - started)
  if (values.json) process.stdout.write(`${JSON.stringify(devnet.toJSON(), null, 2)}\n`)
  else printHuman(devnet, ms)

  if (values.once) {
    await devnet.stop()
    return
  }
  if (!values.json) {
    process.stdout.write(`\nEach account holds ${formatUnits(usdcPerAccount, 6)} USDC. Press Ctrl-C to stop.\n`)
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await devnet.stop()
}

main().catch((err: unknown) => {
  process.stderr.write(`betar-devnet: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
})
