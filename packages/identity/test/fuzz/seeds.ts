import { buildRegistrationFile, encodeRegistrationFile } from '../../src/index.ts'

const PEER = '12D3KooWBAdUmn8JKUy7ogZntEDnJC4FujdWgByHQiMf2PTqe5Eo'
const utf8 = new TextEncoder()

const file = buildRegistrationFile({
  name: 'Summarizer',
  description: 'Summarizes text',
  image: 'https://agent.example/logo.png',
  peerId: PEER,
  multiaddrs: ['/ip4/127.0.0.1/tcp/4001', '/ip4/127.0.0.1/udp/4001/quic-v1'],
  x402Support: true,
  registrations: [{ agentId: 7, agentRegistry: 'eip155:31337:0x5FbDB2315678afecb367f032d93F642f64180aa3' }],
  services: [{ name: 'web', endpoint: 'https://agent.example' }],
  supportedTrust: ['reputation']
})

/** Registration files as agents publish them: current, legacy (`endpoints`), with unknown fields. */
export function registrationSeeds(): Uint8Array[] {
  const { services, ...rest } = file
  return [
    encodeRegistrationFile(file),
    utf8.encode(JSON.stringify({ ...rest, endpoints: services })),
    utf8.encode(JSON.stringify({ ...file, updatedAt: 1_800_000_000, extensions: { a2a: { card: { skills: [] } } } }))
  ]
}
