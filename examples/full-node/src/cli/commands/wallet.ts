import { mkdir } from 'node:fs/promises'
import { formatUsdc, usdcBalance } from '@betar/node/utils'
import { createPublicClient, http } from 'viem'
import { generatePrivateKey } from 'viem/accounts'
import { GLOBAL_HELP, parseCommand } from '../args.ts'
import type { Command } from '../command.ts'
import { CliError } from '../errors.ts'
import { encryptKeystore, writeKeystore } from '../keystore.ts'
import { resolveNetwork } from '../network.ts'
import { out, outJson } from '../output.ts'
import { loadWallet, readPassword, walletPath } from '../wallet.ts'

const USAGE = 'betar wallet [show|create] [options]'
const HELP = `Usage: ${USAGE}

  show     the wallet address, its USDC and ETH balances (default)
  create   generate a key and store it encrypted (scrypt + AES-256-GCM) in <data-dir>/wallet.json,
           with the password from --password-env; prints the address only

${GLOBAL_HELP}`

/** `betar wallet [show|create]`. */
export const walletCommand: Command = {
  name: 'wallet',
  summary: 'show the wallet address and USDC balance, or create an encrypted wallet',
  async run(argv) {
    const { positionals, globals, help } = parseCommand(argv, {}, { min: 0, max: 1, usage: USAGE })
    if (help) return out(HELP)
    const action = positionals[0] ?? 'show'
    if (action === 'create') {
      const password = readPassword(globals)
      await mkdir(globals.dataDir, { recursive: true })
      const path = walletPath(globals.dataDir)
      const keystore = await encryptKeystore(generatePrivateKey(), password)
      try {
        await writeKeystore(path, keystore)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(`${path} already exists`)
        throw err
      }
      if (globals.json) return outJson({ address: keystore.address, path })
      out(`Created wallet ${keystore.address}`)
      out(`Encrypted key in ${path} (password from $${globals.passwordEnv})`)
      return
    }
    if (action !== 'show') throw new CliError(`unknown wallet action "${action}" (show or create)\nUsage: ${USAGE}`)
    const wallet = await loadWallet(globals)
    const { network, chain, rpcUrl } = await resolveNetwork(globals)
    const publicClient = createPublicClient({ chain, transport: http(rpcUrl) })
    let usdc: bigint
    let eth: bigint
    try {
      ;[usdc, eth] = await Promise.all([
        usdcBalance(publicClient, network, wallet.address),
        publicClient.getBalance({ address: wallet.address })
      ])
    } catch (err) {
      throw new CliError(
        `cannot read balances from ${rpcUrl}: ${err instanceof Error ? err.message.split('\n')[0] : err}`
      )
    }
    if (globals.json) {
      return outJson({ address: wallet.address, network: network.name, chainId: network.chainId, usdc, eth })
    }
    out(`Address  ${wallet.address}`)
    out(`Network  ${network.name} (${network.caip2})`)
    out(`USDC     ${formatUsdc(usdc, network.usdc.decimals)}`)
    out(`ETH      ${Number(eth) / 1e18}`)
  }
}
