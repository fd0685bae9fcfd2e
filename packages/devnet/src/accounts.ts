import { bytesToHex, type Hex, type LocalAccount } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'

/** A funded devnet account. The private key is public knowledge (derived from a published mnemonic). */
export interface DevnetAccount {
  /** HD address index (`m/44'/60'/0'/0/<index>`). */
  readonly index: number
  readonly address: `0x${string}`
  readonly privateKey: Hex
  /** A viem local account for signing. */
  readonly account: LocalAccount
}

/** Derives the account at `index` of `mnemonic` with its private key. */
export function deriveAccount(mnemonic: string, index: number): DevnetAccount {
  const account = mnemonicToAccount(mnemonic, { addressIndex: index })
  const key = account.getHdKey().privateKey
  if (key == null) throw new Error(`no private key at index ${index}`)
  return { index, address: account.address, privateKey: bytesToHex(key), account }
}
