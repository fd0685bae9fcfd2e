import { type Address, getAddress, isAddress, isAddressEqual } from 'viem'

/** An ERC-8004 registry id, `eip155:<chainId>:<identityRegistry>`. */
export type AgentRegistryId = `eip155:${number}:${Address}`

const AGENT_REGISTRY = /^eip155:([0-9]{1,12}):(0x[0-9a-fA-F]{40})$/

/** Formats the `agentRegistry` id of an Identity Registry on `chainId` (checksummed address). */
export function formatAgentRegistry(chainId: number, identityRegistry: Address): AgentRegistryId {
  return `eip155:${chainId}:${getAddress(identityRegistry)}`
}

/** Parses `eip155:<chainId>:<address>`; returns `undefined` when malformed. */
export function parseAgentRegistry(value: string): { chainId: number; identityRegistry: Address } | undefined {
  const match = AGENT_REGISTRY.exec(value)
  if (match == null) return undefined
  const [, chainId, address] = match
  if (chainId == null || address == null || !isAddress(address, { strict: false })) return undefined
  return { chainId: Number(chainId), identityRegistry: getAddress(address) }
}

/** Whether two `agentRegistry` ids name the same registry (addresses compared case-insensitively). */
export function sameAgentRegistry(a: string, b: string): boolean {
  const x = parseAgentRegistry(a)
  const y = parseAgentRegistry(b)
  return x != null && y != null && x.chainId === y.chainId && isAddressEqual(x.identityRegistry, y.identityRegistry)
}
