import { encodeAbiParameters, getAddress, hashStruct, keccak256, toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  AGENT_WALLET_MAX_DEADLINE_SECONDS,
  AGENT_WALLET_METADATA_KEY,
  AGENT_WALLET_SET_TYPES,
  agentWalletDomain,
  ERC8004_DEPLOYMENTS,
  ERC8004_VERSION,
  erc8004Deployment,
  MULTICALL3_ADDRESS,
  REGISTRATION_FILE_TYPE
} from '../src/index.ts'

describe('ERC-8004 constants', () => {
  it('AGENT_WALLET_SET_TYPES encodes the spec type string', () => {
    const message = {
      agentId: 7n,
      newWallet: '0x00000000000000000000000000000000000000aa',
      owner: '0x00000000000000000000000000000000000000bb',
      deadline: 1_700_000_000n
    } as const
    const typeHash = keccak256(
      toHex('AgentWalletSet(uint256 agentId,address newWallet,address owner,uint256 deadline)')
    )
    const expected = keccak256(
      encodeAbiParameters(
        [{ type: 'bytes32' }, { type: 'uint256' }, { type: 'address' }, { type: 'address' }, { type: 'uint256' }],
        [typeHash, message.agentId, message.newWallet, message.owner, message.deadline]
      )
    )
    expect(hashStruct({ types: AGENT_WALLET_SET_TYPES, primaryType: 'AgentWalletSet', data: message })).toBe(expected)
  })

  it('agentWalletDomain is ERC8004IdentityRegistry v1 on the given chain and registry', () => {
    expect(agentWalletDomain(8453, '0x8004A169FB4a3325136EB29fA0ceB6D2e539a432')).toEqual({
      name: 'ERC8004IdentityRegistry',
      version: '1',
      chainId: 8453,
      verifyingContract: '0x8004A169FB4a3325136EB29fA0ceB6D2e539a432'
    })
  })

  it('keeps the spec strings', () => {
    expect(AGENT_WALLET_METADATA_KEY).toBe('agentWallet')
    expect(REGISTRATION_FILE_TYPE).toBe('https://eips.ethereum.org/EIPS/eip-8004#registration-v1')
    expect(ERC8004_VERSION).toBe('2.0.0')
    expect(AGENT_WALLET_MAX_DEADLINE_SECONDS).toBe(300)
    expect(MULTICALL3_ADDRESS).toBe(getAddress('0xca11bde05977b3631167028862be2a173976ca11'))
  })

  it('lists the official deployments with checksummed addresses, shared per network class', () => {
    expect(
      Object.keys(ERC8004_DEPLOYMENTS)
        .map(Number)
        .sort((a, b) => a - b)
    ).toEqual([1, 8453, 84532, 11155111])
    for (const deployment of Object.values(ERC8004_DEPLOYMENTS)) {
      for (const address of Object.values(deployment)) expect(address).toBe(getAddress(address))
    }
    expect(ERC8004_DEPLOYMENTS[8453]).toEqual(ERC8004_DEPLOYMENTS[1])
    expect(ERC8004_DEPLOYMENTS[84532]).toEqual(ERC8004_DEPLOYMENTS[11155111])
    expect(ERC8004_DEPLOYMENTS[1].identityRegistry).toBe('0x8004A169FB4a3325136EB29fA0ceB6D2e539a432')
    expect(ERC8004_DEPLOYMENTS[1].reputationRegistry).toBe('0x8004BAa17C55a88189AE136b182e5fdA19dE9b63')
    expect(ERC8004_DEPLOYMENTS[84532].identityRegistry).toBe('0x8004A818BFB912233c491871b3d84c89A494BD9e')
    expect(ERC8004_DEPLOYMENTS[84532].reputationRegistry).toBe('0x8004B663056A597Dffe9eCcC1965A193B7388713')
  })

  it('erc8004Deployment looks a chain up, undefined elsewhere', () => {
    expect(erc8004Deployment(11155111)).toBe(ERC8004_DEPLOYMENTS[11155111])
    expect(erc8004Deployment(31337)).toBeUndefined()
    expect(erc8004Deployment(0)).toBeUndefined()
  })
})
