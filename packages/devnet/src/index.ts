/**
 * @packageDocumentation
 *
 * The embedded chain every Betar test and the local demo run on: anvil (from npm) on a free loopback port with
 * Circle's real USDC bytecode (`FiatTokenV2_2`, EIP-3009), Multicall3 at its canonical address, and Betar's
 * ERC-8004 Identity, Reputation and Validation registries — plus N accounts funded with ETH and USDC.
 * Starts in well under 3 s. Public networks (Base, Base Sepolia) are described by {@link NETWORKS}.
 *
 * @example
 * ```ts
 * import { startDevnet, usdcAbi } from '@betar/devnet'
 * import { createPublicClient, http } from 'viem'
 *
 * const devnet = await startDevnet({ accounts: 2 })
 * const client = createPublicClient({ chain: devnet.chain, transport: http(devnet.rpcUrl) })
 * const balance = await client.readContract({
 *   address: devnet.contracts.usdc, abi: usdcAbi, functionName: 'balanceOf', args: [devnet.accounts[0].address]
 * })
 * await devnet.stop()
 * ```
 */

export { type DevnetAccount, deriveAccount } from './accounts.ts'
export { parseDecimalAmount } from './amount.ts'
export {
  DEFAULT_ACCOUNTS,
  DEFAULT_USDC_PER_ACCOUNT,
  DEVNET_MNEMONIC,
  USDC_DECIMALS,
  USDC_NAME,
  USDC_VERSION
} from './constants.ts'
export {
  type Devnet,
  type DevnetContracts,
  type DevnetSummary,
  type StartDevnetOptions,
  startDevnet
} from './devnet.ts'
export {
  DevnetDeployError,
  FaucetRequestError,
  FaucetUnavailableError,
  UnknownNetworkError
} from './errors.ts'
export {
  deriveFacilitatorAccount,
  FACILITATOR_MAX_BODY_BYTES,
  FACILITATOR_ROLE_INDEX,
  FacilitatorBodyTooLargeError,
  FacilitatorRequestError,
  type FacilitatorServer,
  type StartDevnetFacilitatorOptions,
  type StartFacilitatorOptions,
  startDevnetFacilitator,
  startFacilitator
} from './facilitator.ts'
export { type FacilitatorSignerOptions, facilitatorSigner } from './facilitator-signer.ts'
export {
  devnetUsdcAddress,
  FAUCET_DEFAULT_USDC,
  FAUCET_DEFAULT_WEI,
  FAUCET_MAX_USDC,
  FAUCET_MAX_WEI,
  type FundAccountOptions,
  type FundAccountResult,
  fundAccount
} from './faucet.ts'
export { type BetarNetwork, getNetwork, NETWORKS } from './networks.ts'
export { eip3009Abi, TRANSFER_WITH_AUTHORIZATION_TYPES, usdcAbi } from './usdc-abi.ts'
