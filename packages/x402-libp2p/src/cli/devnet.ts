import type { Hex } from 'viem'
import { type CliDevnetOptions, UsageError } from './args.ts'

/** The devnet account that pays with `--devnet`; account 0 is left to the target (its payee and gas payer). */
export const DEVNET_PAYER_INDEX = 1

/** What `--devnet` started, as printed before the results. */
export interface CliDevnetSummary {
  rpcUrl: string
  chainId: number
  network: string
  usdc: string
  /** Account 0, for the target: its address and (public, devnet-only) key. */
  target: { address: string; privateKey: Hex }
  payer: string
  facilitator?: string
}

/** A devnet started for one run. */
export interface CliDevnet {
  rpcUrl: string
  payerKey: Hex
  summary: CliDevnetSummary
  stop(): Promise<void>
}

/**
 * Starts `@betar/devnet` (an optional peer dependency, loaded only for `--devnet`) on the given loopback port, and its
 * x402 facilitator when a port is given for it. Contract addresses and accounts are the same on every start, so a
 * target can be configured for them before the run.
 */
export async function startCliDevnet(options: CliDevnetOptions): Promise<CliDevnet> {
  let mod: typeof import('@betar/devnet')
  try {
    mod = await import('@betar/devnet')
  } catch (cause) {
    throw new UsageError(`--devnet needs @betar/devnet (npm install @betar/devnet): ${(cause as Error).message}`)
  }
  let devnet: Awaited<ReturnType<typeof mod.startDevnet>>
  try {
    devnet = await mod.startDevnet({ port: options.port, accounts: 3 })
  } catch (cause) {
    throw new Error(`cannot start the devnet on 127.0.0.1:${options.port}: ${(cause as Error).message}`, { cause })
  }
  let facilitator: Awaited<ReturnType<typeof mod.startDevnetFacilitator>> | undefined
  try {
    if (options.facilitatorPort != null) {
      facilitator = await mod.startDevnetFacilitator(devnet, { port: options.facilitatorPort })
    }
  } catch (cause) {
    await devnet.stop()
    throw new Error(`cannot start the facilitator on port ${options.facilitatorPort}: ${(cause as Error).message}`, {
      cause
    })
  }
  const [target, payer] = [devnet.accounts[0]!, devnet.accounts[DEVNET_PAYER_INDEX]!]
  const summary: CliDevnetSummary = {
    rpcUrl: devnet.rpcUrl,
    chainId: devnet.chainId,
    network: devnet.network.caip2,
    usdc: devnet.contracts.usdc,
    target: { address: target.address, privateKey: target.privateKey },
    payer: payer.address
  }
  if (facilitator != null) summary.facilitator = facilitator.url
  return {
    rpcUrl: devnet.rpcUrl,
    payerKey: payer.privateKey,
    summary,
    stop: async () => {
      await facilitator?.stop()
      await devnet.stop()
    }
  }
}

/** One line per fact, printed above the table. */
export function formatDevnet(s: CliDevnetSummary): string {
  return [
    `devnet: ${s.rpcUrl} (chain ${s.chainId}, ${s.network})`,
    `  USDC ${s.usdc}`,
    `  target account 0: ${s.target.address}`,
    `  payer account ${DEVNET_PAYER_INDEX}: ${s.payer}`,
    ...(s.facilitator != null ? [`  facilitator: ${s.facilitator}`] : []),
    ''
  ].join('\n')
}
