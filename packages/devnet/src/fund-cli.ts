import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { type Address, formatEther, formatUnits } from 'viem'
import { parseDecimalAmount } from './amount.ts'
import { USDC_DECIMALS } from './constants.ts'
import type { DevnetSummary } from './devnet.ts'
import { FaucetRequestError } from './errors.ts'
import {
  devnetUsdcAddress,
  FAUCET_DEFAULT_USDC,
  FAUCET_DEFAULT_WEI,
  FAUCET_MAX_USDC,
  FAUCET_MAX_WEI,
  fundAccount
} from './faucet.ts'

/** Help of `betar-devnet fund`. */
export const FUND_HELP = `Usage: betar-devnet fund <address> [--usdc N] [--eth N] (--devnet <file> | --rpc-url <url>)

Faucet of a running devnet: mints real USDC to <address> and adds ETH for gas.

  --usdc <amount>    USDC to mint, decimal (default ${formatUnits(FAUCET_DEFAULT_USDC, USDC_DECIMALS)}, at most ${formatUnits(FAUCET_MAX_USDC, USDC_DECIMALS)})
  --eth <amount>     ETH to add, decimal (default ${formatEther(FAUCET_DEFAULT_WEI)}, at most ${formatEther(FAUCET_MAX_WEI)})
  --devnet <file>    the devnet summary from \`betar-devnet --json\` (or BETAR_DEVNET)
  --rpc-url <url>    the devnet's RPC instead (USDC at its default address)
  --json             print the result as JSON
  -h, --help         show this help`

/** Runs `betar-devnet fund` on `argv` (after `fund`), writing the result to stdout. */
export async function fundCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      usdc: { type: 'string' },
      eth: { type: 'string' },
      devnet: { type: 'string' },
      'rpc-url': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    },
    allowPositionals: true,
    strict: true
  })
  if (values.help) {
    process.stdout.write(`${FUND_HELP}\n`)
    return
  }
  if (positionals.length !== 1) throw new FaucetRequestError(`expected one <address>\n\n${FUND_HELP}`)
  const address = positionals[0] as Address
  const usdcAtomic = values.usdc != null ? parseDecimalAmount(values.usdc, USDC_DECIMALS, '--usdc') : undefined
  const wei = values.eth != null ? parseDecimalAmount(values.eth, 18, '--eth') : undefined
  const target = await devnetTarget(values.devnet ?? nonEmpty(process.env.BETAR_DEVNET), values['rpc-url'])

  const result = await fundAccount({
    ...target,
    address,
    ...(usdcAtomic != null ? { usdcAtomic } : {}),
    ...(wei != null ? { wei } : {})
  })
  const usdc = (n: bigint) => formatUnits(n, USDC_DECIMALS)
  if (values.json) {
    const json = {
      address: result.address,
      usdc: {
        added: usdc(result.usdc.added),
        balance: usdc(result.usdc.balance),
        addedAtomic: result.usdc.added.toString(),
        balanceAtomic: result.usdc.balance.toString(),
        transaction: result.usdc.transaction
      },
      eth: {
        added: formatEther(result.eth.added),
        balance: formatEther(result.eth.balance),
        addedWei: result.eth.added.toString(),
        balanceWei: result.eth.balance.toString()
      }
    }
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`)
    return
  }
  process.stdout.write(
    `Funded ${result.address}: +${usdc(result.usdc.added)} USDC, +${formatEther(result.eth.added)} ETH\n` +
      `  now ${usdc(result.usdc.balance)} USDC and ${formatEther(result.eth.balance)} ETH\n` +
      (result.usdc.transaction != null ? `  mint tx ${result.usdc.transaction}\n` : '')
  )
}

/** The devnet's RPC and USDC: from the summary file, else `--rpc-url` with USDC at its default address. */
async function devnetTarget(
  summaryPath: string | undefined,
  rpcUrl: string | undefined
): Promise<{ rpcUrl: string; usdc: Address }> {
  if (summaryPath != null) {
    let summary: Partial<DevnetSummary>
    try {
      summary = JSON.parse(await readFile(summaryPath, 'utf8')) as Partial<DevnetSummary>
    } catch {
      throw new FaucetRequestError(`cannot read the devnet summary ${summaryPath} (from \`betar-devnet --json\`)`)
    }
    const usdc = summary.contracts?.usdc
    if (typeof summary.rpcUrl !== 'string' || typeof usdc !== 'string') {
      throw new FaucetRequestError(`${summaryPath} is not a devnet summary (no rpcUrl or contracts.usdc)`)
    }
    return { rpcUrl: rpcUrl ?? summary.rpcUrl, usdc }
  }
  if (rpcUrl != null) return { rpcUrl, usdc: devnetUsdcAddress() }
  throw new FaucetRequestError('which devnet? pass --devnet <file> (from `betar-devnet --json`) or --rpc-url <url>')
}

function nonEmpty(value: string | undefined): string | undefined {
  return value == null || value === '' ? undefined : value
}
