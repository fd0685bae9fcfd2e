import { access } from 'node:fs/promises'
import { join } from 'node:path'
import type { Hex, LocalAccount } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { GlobalFlags } from './args.ts'
import { CliError } from './errors.ts'
import { decryptKeystore, readKeystore } from './keystore.ts'

/** Where the encrypted wallet lives in a data dir. */
export function walletPath(dataDir: string): string {
  return join(dataDir, 'wallet.json')
}

/** Reads a password from the environment variable named by `--password-env`. */
export function readPassword(flags: GlobalFlags): string {
  const password = process.env[flags.passwordEnv]
  if (password == null || password === '') {
    throw new CliError(`the keystore password is read from $${flags.passwordEnv}, which is not set`)
  }
  return password
}

/**
 * The node's wallet: `BETAR_WALLET_KEY` when set, else `<data-dir>/wallet.json` decrypted with the password of
 * `--password-env`. The key itself is never printed.
 */
export async function loadWallet(flags: GlobalFlags): Promise<LocalAccount> {
  const raw = process.env.BETAR_WALLET_KEY
  if (raw != null && raw !== '') {
    const key = (raw.startsWith('0x') ? raw : `0x${raw}`) as Hex
    if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new CliError('BETAR_WALLET_KEY must be a 32-byte hex private key')
    return privateKeyToAccount(key)
  }
  const path = walletPath(flags.dataDir)
  try {
    await access(path)
  } catch {
    throw new CliError(
      `no wallet: set BETAR_WALLET_KEY, or create ${path} with \`betar wallet create --password-env VAR\``
    )
  }
  return privateKeyToAccount(await decryptKeystore(await readKeystore(path), readPassword(flags)))
}
