/**
 * @packageDocumentation
 *
 * Clean-room Solidity implementations of the ERC-8004 "Trustless Agents" registries (Identity, Reputation,
 * Validation; the 2026-01-25 draft, contract version 2.0.0) and of Multicall3, with viem-typed ABIs and bytecode,
 * a deployer, the EIP-712 constants of `setAgentWallet`, and the addresses of the official deployments.
 *
 * @example
 * ```ts
 * import { deployErc8004Registries, identityRegistryAbi } from '@betar/contracts'
 *
 * const { identityRegistry } = await deployErc8004Registries({ walletClient, publicClient })
 * const { request } = await publicClient.simulateContract({
 *   account: walletClient.account,
 *   address: identityRegistry,
 *   abi: identityRegistryAbi,
 *   functionName: 'register',
 *   args: ['ipfs://bafy…/agent.json']
 * })
 * await walletClient.writeContract(request)
 * ```
 */

export {
  type DeployClients,
  type DeployOptions,
  deployErc8004Registries,
  type Erc8004Registries
} from './deploy.ts'
export {
  AGENT_WALLET_MAX_DEADLINE_SECONDS,
  AGENT_WALLET_METADATA_KEY,
  AGENT_WALLET_SET_TYPES,
  agentWalletDomain,
  ERC8004_DEPLOYMENTS,
  ERC8004_VERSION,
  type Erc8004Deployment,
  erc8004Deployment,
  REGISTRATION_FILE_TYPE
} from './erc8004.ts'
export { ContractDeploymentError } from './errors.ts'
export {
  identityRegistryAbi,
  identityRegistryBytecode,
  identityRegistryDeployedBytecode
} from './generated/IdentityRegistry.ts'
export { multicall3Abi, multicall3Bytecode, multicall3DeployedBytecode } from './generated/Multicall3.ts'
export {
  reputationRegistryAbi,
  reputationRegistryBytecode,
  reputationRegistryDeployedBytecode
} from './generated/ReputationRegistry.ts'
export {
  validationRegistryAbi,
  validationRegistryBytecode,
  validationRegistryDeployedBytecode
} from './generated/ValidationRegistry.ts'
export { MULTICALL3_ADDRESS } from './multicall3.ts'
