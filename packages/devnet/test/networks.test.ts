import { ERC8004_DEPLOYMENTS } from '@betar/contracts'
import { describe, expect, it } from 'vitest'
import { getNetwork, NETWORKS, UnknownNetworkError } from '../src/index.ts'

describe('public networks', () => {
  it('describes Base with mainnet USDC and the official ERC-8004 registries', () => {
    const base = getNetwork('base')
    expect(base).toMatchObject({ chainId: 8453, caip2: 'eip155:8453' })
    expect(base.usdc).toEqual({
      address: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913',
      name: 'USD Coin',
      version: '2',
      decimals: 6
    })
    expect(base.erc8004.identityRegistry).toBe('0x8004A169FB4a3325136EB29fA0ceB6D2e539a432')
    expect(base.erc8004.reputationRegistry).toBe('0x8004BAa17C55a88189AE136b182e5fdA19dE9b63')
  })

  it('describes Base Sepolia with its differently named USDC domain and the testnet registries', () => {
    const sepolia = NETWORKS['base-sepolia']
    expect(sepolia.caip2).toBe('eip155:84532')
    expect(sepolia.usdc.name).toBe('USDC')
    expect(sepolia.erc8004).toEqual(ERC8004_DEPLOYMENTS[84532])
    expect(sepolia.erc8004.identityRegistry).toBe('0x8004A818BFB912233c491871b3d84c89A494BD9e')
  })

  it('lets configuration override the RPC endpoint without touching the addresses', () => {
    const custom = getNetwork('base-sepolia', { rpcUrl: 'http://127.0.0.1:8545' })
    expect(custom.rpcUrl).toBe('http://127.0.0.1:8545')
    expect(custom.usdc).toEqual(NETWORKS['base-sepolia'].usdc)
    expect(NETWORKS['base-sepolia'].rpcUrl).toBe('https://sepolia.base.org')
  })

  it('rejects an unknown network with a typed error', () => {
    expect(() => getNetwork('ethereum-classic')).toThrow(UnknownNetworkError)
    expect(() => getNetwork('toString')).toThrow(expect.objectContaining({ name: 'UnknownNetworkError' }))
  })
})
