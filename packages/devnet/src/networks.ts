import { erc8004Deployment } from '@betar/contracts'
import type { Address } from 'viem'
import { UnknownNetworkError } from './errors.ts'

/** An EVM network Betar can trade on: where USDC and the ERC-8004 registries live. */
export interface BetarNetwork {
  /** Short name: `devnet`, `base`, `base-sepolia`. */
  readonly name: string
  readonly chainId: number
  /** CAIP-2 id, as x402 v2 `network` and ERC-8004 `agentRegistry` use it. */
  readonly caip2: `eip155:${number}`
  /** Default JSON-RPC endpoint; configuration may override it. */
  readonly rpcUrl: string
  /** USDC and its EIP-712 domain (x402's `extra.name` / `extra.version`). */
  readonly usdc: {
    readonly address: Address
    readonly name: string
    readonly version: string
    readonly decimals: number
  }
  readonly erc8004: {
    readonly identityRegistry: Address
    readonly reputationRegistry: Address
    readonly validationRegistry?: Address
  }
}

function official(chainId: number): BetarNetwork['erc8004'] {
  const d = erc8004Deployment(chainId)
  if (d == null) throw new UnknownNetworkError(`eip155:${chainId}`)
  return d
}

/**
 * Public networks with their official addresses: Circle's USDC (EIP-712 name differs between Base mainnet
 * "USD Coin" and Base Sepolia "USDC") and the canonical ERC-8004 registries.
 */
export const NETWORKS: Readonly<Record<'base' | 'base-sepolia', BetarNetwork>> = {
  base: {
    name: 'base',
    chainId: 8453,
    caip2: 'eip155:8453',
    rpcUrl: 'https://mainnet.base.org',
    usdc: { address: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913', name: 'USD Coin', version: '2', decimals: 6 },
    erc8004: official(8453)
  },
  'base-sepolia': {
    name: 'base-sepolia',
    chainId: 84532,
    caip2: 'eip155:84532',
    rpcUrl: 'https://sepolia.base.org',
    usdc: { address: '0x036CbD53842c5426634e7929541eC2318f3dCF7e', name: 'USDC', version: '2', decimals: 6 },
    erc8004: official(84532)
  }
}

/** Looks up a public network by name, applying `overrides` (e.g. a private RPC URL). */
export function getNetwork(name: string, overrides: Partial<Pick<BetarNetwork, 'rpcUrl'>> = {}): BetarNetwork {
  if (!Object.hasOwn(NETWORKS, name)) throw new UnknownNetworkError(name)
  return { ...NETWORKS[name as keyof typeof NETWORKS], ...overrides }
}
