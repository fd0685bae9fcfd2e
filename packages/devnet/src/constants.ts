import { ANVIL_MNEMONIC } from '@betar/anvil'

/** The devnet's default mnemonic: anvil's well-known `test test … junk`, so every key is public. Dev use only. */
export const DEVNET_MNEMONIC = ANVIL_MNEMONIC

/** Funded user accounts by default. */
export const DEFAULT_ACCOUNTS = 10

/** USDC minted to each funded account: 10,000 USDC (6 decimals). */
export const DEFAULT_USDC_PER_ACCOUNT = 10_000_000_000n

/** ETH per funded account, in whole ether (anvil's own default). */
export const DEFAULT_ETH_PER_ACCOUNT = 10_000

/**
 * HD address indexes of the infrastructure roles. They sit far above the user accounts so that user accounts keep
 * nonce 0 and the deployer's nonce sequence — hence every contract address — is the same on every start.
 */
export const ROLE_INDEX = {
  deployer: 1000,
  usdcProxyAdmin: 1001,
  usdcOwner: 1002,
  /** Gas payer of the devnet's x402 facilitator. */
  facilitator: 1003
} as const

/** USDC's EIP-712 domain on the devnet (the name `FiatTokenV2_2` reports, version "2"), as on Base/Ethereum mainnet. */
export const USDC_NAME = 'USD Coin'
export const USDC_SYMBOL = 'USDC'
export const USDC_VERSION = '2'
export const USDC_DECIMALS = 6
