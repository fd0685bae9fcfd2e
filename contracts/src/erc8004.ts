import type { Address } from 'viem'

/** The ERC-8004 contract version our registries implement (the 2026-01-25 draft); `getVersion()` returns it. */
export const ERC8004_VERSION = '2.0.0'

/** The `type` field of an ERC-8004 registration file (the document an agentURI points at). */
export const REGISTRATION_FILE_TYPE = 'https://eips.ethereum.org/EIPS/eip-8004#registration-v1'

/**
 * The reserved Identity Registry metadata key holding the agent's wallet (20 packed address bytes). It can only be
 * changed with `setAgentWallet`, starts as the owner, and is cleared when the agent is transferred.
 */
export const AGENT_WALLET_METADATA_KEY = 'agentWallet'

/** The furthest ahead, in seconds, a `setAgentWallet` signature deadline may be. */
export const AGENT_WALLET_MAX_DEADLINE_SECONDS = 300

/**
 * EIP-712 types of the proof `setAgentWallet` wants: signed by `newWallet`, for the agent's current `owner`.
 *
 * @example
 * ```ts
 * const signature = await newWallet.signTypedData({
 *   domain: agentWalletDomain(chainId, identityRegistry),
 *   types: AGENT_WALLET_SET_TYPES,
 *   primaryType: 'AgentWalletSet',
 *   message: { agentId, newWallet: newWallet.address, owner, deadline }
 * })
 * ```
 */
export const AGENT_WALLET_SET_TYPES = {
  AgentWalletSet: [
    { name: 'agentId', type: 'uint256' },
    { name: 'newWallet', type: 'address' },
    { name: 'owner', type: 'address' },
    { name: 'deadline', type: 'uint256' }
  ]
} as const

/** The EIP-712 domain of an Identity Registry, for {@link AGENT_WALLET_SET_TYPES} signatures. */
export function agentWalletDomain(
  chainId: number,
  identityRegistry: Address
): { name: 'ERC8004IdentityRegistry'; version: '1'; chainId: number; verifyingContract: Address } {
  return { name: 'ERC8004IdentityRegistry', version: '1', chainId, verifyingContract: identityRegistry }
}

/** Addresses of one chain's ERC-8004 registries. */
export interface Erc8004Deployment {
  readonly identityRegistry: Address
  readonly reputationRegistry: Address
  /**
   * Reserved by the official deploy scripts but, as of 2026-11, not deployed nor listed in the official README:
   * check for code before relying on it.
   */
  readonly validationRegistry?: Address
}

const MAINNET: Erc8004Deployment = {
  identityRegistry: '0x8004A169FB4a3325136EB29fA0ceB6D2e539a432',
  reputationRegistry: '0x8004BAa17C55a88189AE136b182e5fdA19dE9b63',
  validationRegistry: '0x8004Cc8439f36fd5F9F049D9fF86523Df6dAAB58'
}

const TESTNET: Erc8004Deployment = {
  identityRegistry: '0x8004A818BFB912233c491871b3d84c89A494BD9e',
  reputationRegistry: '0x8004B663056A597Dffe9eCcC1965A193B7388713',
  validationRegistry: '0x8004Cb1BF31DAf7788923b405b754f57acEB4272'
}

/**
 * The official ERC-8004 registries (UUPS proxies at the same CREATE2 addresses on every mainnet, and on every
 * testnet), by chain id: Ethereum (1), Base (8453), Base Sepolia (84532) and Sepolia (11155111).
 */
export const ERC8004_DEPLOYMENTS: Readonly<Record<1 | 8453 | 84532 | 11155111, Erc8004Deployment>> = {
  1: MAINNET,
  8453: MAINNET,
  84532: TESTNET,
  11155111: TESTNET
}

/** The official registries on `chainId` from {@link ERC8004_DEPLOYMENTS}, or `undefined` for another chain. */
export function erc8004Deployment(chainId: number): Erc8004Deployment | undefined {
  return Object.hasOwn(ERC8004_DEPLOYMENTS, chainId)
    ? ERC8004_DEPLOYMENTS[chainId as keyof typeof ERC8004_DEPLOYMENTS]
    : undefined
}
