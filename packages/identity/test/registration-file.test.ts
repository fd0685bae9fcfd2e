import { REGISTRATION_FILE_TYPE } from '@betar/contracts'
import { describe, expect, it } from 'vitest'
import {
  buildRegistrationFile,
  decodeRegistrationFile,
  encodeRegistrationFile,
  formatAgentRegistry,
  hasRegistration,
  InvalidRegistrationFileError,
  libp2pServices,
  MAX_REGISTRATION_FILE_BYTES,
  parseAgentRegistry,
  parseRegistrationFile,
  RegistrationFileTooLargeError,
  withRegistration,
  X402_LIBP2P_PROTOCOLS
} from '../src/index.ts'

const REGISTRY = '0x8004A818BFB912233c491871b3d84c89A494BD9e'
const PEER = '12D3KooWBAdUmn8JKUy7ogZntEDnJC4FujdWgByHQiMf2PTqe5Eo'

/** The spec's example file (ERC-8004 §Registration file, 2026-01-25), comments removed. */
const SPEC_EXAMPLE = {
  type: 'https://eips.ethereum.org/EIPS/eip-8004#registration-v1',
  name: 'myAgentName',
  description: 'A natural language description of the Agent',
  image: 'https://example.com/agentimage.png',
  services: [
    { name: 'web', endpoint: 'https://web.agentxyz.com/' },
    { name: 'A2A', endpoint: 'https://agent.example/.well-known/agent-card.json', version: '0.3.0' },
    { name: 'MCP', endpoint: 'https://mcp.agent.eth/', version: '2025-06-18' },
    { name: 'OASF', endpoint: 'ipfs://{cid}', version: '0.8', skills: [], domains: [] },
    { name: 'ENS', endpoint: 'vitalik.eth', version: 'v1' },
    { name: 'DID', endpoint: 'did:method:foobar', version: 'v1' },
    { name: 'email', endpoint: 'mail@myagent.com' }
  ],
  x402Support: false,
  active: true,
  registrations: [{ agentId: 22, agentRegistry: `eip155:1:${REGISTRY}` }],
  supportedTrust: ['reputation', 'crypto-economic', 'tee-attestation']
}

describe('registration file', () => {
  it('accepts the spec example and keeps service-specific fields', () => {
    const file = parseRegistrationFile(SPEC_EXAMPLE)
    expect(file.services).toHaveLength(7)
    expect(file.services[3]).toEqual({
      name: 'OASF',
      endpoint: 'ipfs://{cid}',
      version: '0.8',
      skills: [],
      domains: []
    })
    expect(hasRegistration(file, 22n, `eip155:1:${REGISTRY.toLowerCase()}`)).toBe(true)
    expect(hasRegistration(file, 23n, `eip155:1:${REGISTRY}`)).toBe(false)
    expect(hasRegistration(file, 22n, `eip155:8453:${REGISTRY}`)).toBe(false)
  })

  it('accepts legacy `endpoints` as `services`', () => {
    const { services, ...rest } = SPEC_EXAMPLE
    const file = parseRegistrationFile({ ...rest, endpoints: services, updatedAt: 1_700_000_000 })
    expect(file.services).toEqual(parseRegistrationFile(SPEC_EXAMPLE).services)
    expect(file).not.toHaveProperty('endpoints')
    expect(file.updatedAt).toBe(1_700_000_000)
  })

  it('accepts decimal-string agentIds beyond 2^53', () => {
    const big = '123456789012345678901234567890'
    const file = parseRegistrationFile({
      ...SPEC_EXAMPLE,
      registrations: [{ agentId: big, agentRegistry: `eip155:1:${REGISTRY}` }]
    })
    expect(hasRegistration(file, BigInt(big), `eip155:1:${REGISTRY}`)).toBe(true)
  })

  it.each([
    ['wrong type', { ...SPEC_EXAMPLE, type: 'https://example.com/agent' }],
    ['missing name', { ...SPEC_EXAMPLE, name: undefined }],
    ['bad agentRegistry', { ...SPEC_EXAMPLE, registrations: [{ agentId: 1, agentRegistry: 'eip155:1:0x1234' }] }],
    ['negative agentId', { ...SPEC_EXAMPLE, registrations: [{ agentId: -1, agentRegistry: `eip155:1:${REGISTRY}` }] }],
    [
      'too many services',
      { ...SPEC_EXAMPLE, services: Array.from({ length: 65 }, () => ({ name: 'x', endpoint: 'y' })) }
    ],
    ['overlong name', { ...SPEC_EXAMPLE, name: 'n'.repeat(257) }],
    ['non-boolean active', { ...SPEC_EXAMPLE, active: 'yes' }],
    ['not an object', ['nope']]
  ])('rejects %s', (_, input) => {
    expect(() => parseRegistrationFile(input)).toThrow(InvalidRegistrationFileError)
  })

  it('rejects oversized and non-JSON bytes', () => {
    const huge = JSON.stringify({ ...SPEC_EXAMPLE, padding: 'x'.repeat(MAX_REGISTRATION_FILE_BYTES) })
    expect(() => decodeRegistrationFile(huge)).toThrow(RegistrationFileTooLargeError)
    expect(() => decodeRegistrationFile('{not json')).toThrow(InvalidRegistrationFileError)
    expect(() => decodeRegistrationFile(new Uint8Array([0xff, 0xfe]))).toThrow(InvalidRegistrationFileError)
    expect(() =>
      encodeRegistrationFile({ ...parseRegistrationFile(SPEC_EXAMPLE), padding: 'x'.repeat(70_000) })
    ).toThrow(RegistrationFileTooLargeError)
  })

  it('builds a file with the libp2p service and x402 protocols', () => {
    const file = buildRegistrationFile({
      name: 'summarizer',
      description: 'Summarises text',
      peerId: PEER,
      multiaddrs: [`/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`],
      x402Support: true
    })
    expect(file.type).toBe(REGISTRATION_FILE_TYPE)
    expect(file.active).toBe(true)
    expect(file.registrations).toEqual([])
    expect(file).not.toHaveProperty('image')
    expect(libp2pServices(file)).toEqual([
      {
        name: 'libp2p',
        endpoint: `/p2p/${PEER}`,
        peerId: PEER,
        multiaddrs: [`/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`],
        protocols: [...X402_LIBP2P_PROTOCOLS]
      }
    ])
    expect(X402_LIBP2P_PROTOCOLS).toEqual(['/x402/libp2p/2.0.0', '/x402/libp2p/1.0.0'])
    expect(decodeRegistrationFile(encodeRegistrationFile(file))).toEqual(file)
  })

  it('replaces the registration for the same registry only', () => {
    const base = parseRegistrationFile(SPEC_EXAMPLE)
    const registry = formatAgentRegistry(1, REGISTRY.toLowerCase() as `0x${string}`)
    expect(registry).toBe(`eip155:1:${REGISTRY}`)
    const other = formatAgentRegistry(8453, REGISTRY)
    const file = withRegistration(withRegistration(base, 7n, registry), 9n, other)
    expect(file.registrations).toEqual([
      { agentId: 7, agentRegistry: registry },
      { agentId: 9, agentRegistry: other }
    ])
    expect(parseAgentRegistry(other)).toEqual({ chainId: 8453, identityRegistry: REGISTRY })
    expect(parseAgentRegistry('eip155:x:0x00')).toBeUndefined()
  })
})
