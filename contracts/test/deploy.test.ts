import { encodeDeployData, getAddress, getContract, zeroAddress } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  ContractDeploymentError,
  deployErc8004Registries,
  identityRegistryAbi,
  reputationRegistryAbi,
  reputationRegistryBytecode,
  validationRegistryAbi,
  validationRegistryBytecode
} from '../src/index.ts'
import { useChain } from './helpers.ts'

const chain = useChain()

describe('deployErc8004Registries', () => {
  it('deploys the three registries and wires Reputation and Validation to Identity', async () => {
    const [deployer] = chain.wallets
    const { publicClient } = chain
    const deployed = await deployErc8004Registries({ walletClient: deployer, publicClient })
    const { identityRegistry, reputationRegistry, validationRegistry } = deployed
    for (const address of [identityRegistry, reputationRegistry, validationRegistry]) {
      expect(address).toBe(getAddress(address))
      expect(await publicClient.getCode({ address })).toMatch(/^0x[0-9a-f]{100,}$/)
    }
    expect(new Set([identityRegistry, reputationRegistry, validationRegistry]).size).toBe(3)
    const reputation = getContract({ address: reputationRegistry, abi: reputationRegistryAbi, client: publicClient })
    const validation = getContract({ address: validationRegistry, abi: validationRegistryAbi, client: publicClient })
    const identity = getContract({ address: identityRegistry, abi: identityRegistryAbi, client: publicClient })
    expect(await reputation.read.getIdentityRegistry()).toBe(identityRegistry)
    expect(await validation.read.getIdentityRegistry()).toBe(identityRegistry)
    expect(await identity.read.getVersion()).toBe('2.0.0')
    expect(await publicClient.getTransactionCount({ address: deployer.account.address })).toBe(3)
  })

  it('sends nothing when the signal is already aborted', async () => {
    const [deployer] = chain.wallets
    const reason = new Error('stop')
    await expect(
      deployErc8004Registries(
        { walletClient: deployer, publicClient: chain.publicClient },
        { signal: AbortSignal.abort(reason) }
      )
    ).rejects.toBe(reason)
    expect(await chain.publicClient.getTransactionCount({ address: deployer.account.address })).toBe(0)
  })

  it('stops waiting for a receipt when the signal aborts', async () => {
    const [deployer] = chain.wallets
    await chain.testClient.setAutomine(false)
    try {
      const controller = new AbortController()
      const deploying = deployErc8004Registries(
        { walletClient: deployer, publicClient: chain.publicClient },
        { signal: controller.signal }
      )
      // Wait until the Identity Registry deployment sits in the mempool, then abort.
      await expect
        .poll(() => chain.publicClient.getTransactionCount({ address: deployer.account.address, blockTag: 'pending' }))
        .toBe(1)
      controller.abort(new Error('shutting down'))
      await expect(deploying).rejects.toThrow('shutting down')
    } finally {
      await chain.testClient.setAutomine(true)
    }
    // Only the first transaction was sent.
    await chain.testClient.mine({ blocks: 1 })
    expect(await chain.publicClient.getTransactionCount({ address: deployer.account.address })).toBe(1)
  })

  it('the Reputation and Validation constructors refuse a zero Identity Registry', async () => {
    const [deployer] = chain.wallets
    for (const [abi, bytecode] of [
      [reputationRegistryAbi, reputationRegistryBytecode],
      [validationRegistryAbi, validationRegistryBytecode]
    ] as const) {
      const data = encodeDeployData({ abi, bytecode, args: [zeroAddress] })
      await expect(chain.publicClient.call({ account: deployer.account, data })).rejects.toThrow(
        /execution reverted: bad identity$/m
      )
    }
  })

  it('names its error class and keeps the failing contract and transaction', () => {
    const err = new ContractDeploymentError('IdentityRegistry', '0x1234', 'reverted')
    expect(err).toBeInstanceOf(Error)
    expect(err.name).toBe('ContractDeploymentError')
    expect(err.message).toBe('IdentityRegistry deployment 0x1234 reverted')
    expect([err.contract, err.transactionHash]).toEqual(['IdentityRegistry', '0x1234'])
  })
})
