import { readFile } from 'node:fs/promises'
import { type BetarNetwork, type DevnetSummary, getNetwork } from '@betar/devnet'
import { type Chain, defineChain } from 'viem'
import { base, baseSepolia } from 'viem/chains'
import type { GlobalFlags } from './args.ts'
import { CliError } from './errors.ts'

/** The chain a command talks to. */
export interface ResolvedNetwork {
  network: BetarNetwork
  chain: Chain
  rpcUrl: string
}

const MULTICALL3 = '0xcA11bde05977b3631167028862bE2a173976CA11'

/**
 * Resolves `--network`: `devnet` reads the summary JSON of `--devnet` / `BETAR_DEVNET` (as `betar-devnet --json`
 * prints it); `base` and `base-sepolia` use the official addresses. `--rpc-url` / `BETAR_RPC_URL` override the RPC.
 */
export async function resolveNetwork(flags: GlobalFlags): Promise<ResolvedNetwork> {
  if (flags.network === 'devnet') {
    if (flags.devnet == null) {
      throw new CliError(
        '--network devnet needs the devnet summary: pass --devnet <file> (from `betar-devnet --json > file`) or set BETAR_DEVNET'
      )
    }
    const summary = await readSummary(flags.devnet)
    const rpcUrl = flags.rpcUrl ?? summary.rpcUrl
    const network: BetarNetwork = {
      name: 'devnet',
      chainId: summary.chainId,
      caip2: summary.network,
      rpcUrl,
      usdc: summary.usdc,
      erc8004: {
        identityRegistry: summary.contracts.identityRegistry,
        reputationRegistry: summary.contracts.reputationRegistry,
        validationRegistry: summary.contracts.validationRegistry
      }
    }
    const chain = defineChain({
      id: summary.chainId,
      name: 'Betar Devnet',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [rpcUrl] } },
      contracts: { multicall3: { address: summary.contracts.multicall3 ?? MULTICALL3 } },
      testnet: true
    })
    return { network, chain, rpcUrl }
  }
  if (flags.network === 'base' || flags.network === 'base-sepolia') {
    const network = getNetwork(flags.network, flags.rpcUrl != null ? { rpcUrl: flags.rpcUrl } : {})
    return { network, chain: flags.network === 'base' ? base : baseSepolia, rpcUrl: network.rpcUrl }
  }
  throw new CliError(`--network must be devnet, base or base-sepolia, got "${flags.network}"`)
}

async function readSummary(path: string): Promise<DevnetSummary> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    throw new CliError(`cannot read the devnet summary ${path}`)
  }
  let summary: Partial<DevnetSummary>
  try {
    summary = JSON.parse(text) as Partial<DevnetSummary>
  } catch {
    throw new CliError(`${path} is not JSON (expected \`betar-devnet --json\` output)`)
  }
  if (
    typeof summary.rpcUrl !== 'string' ||
    typeof summary.chainId !== 'number' ||
    summary.contracts == null ||
    summary.usdc == null
  ) {
    throw new CliError(`${path} is not a devnet summary (missing rpcUrl, chainId, contracts or usdc)`)
  }
  return {
    ...(summary as DevnetSummary),
    network: summary.network ?? `eip155:${summary.chainId}`
  }
}
