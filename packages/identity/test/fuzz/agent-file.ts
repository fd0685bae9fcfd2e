import { type FuzzTarget, mutateBytes } from '@betar/fuzz'
import { MemoryBlockstore } from 'blockstore-core'
import { CID } from 'multiformats/cid'
import * as jsonCodec from 'multiformats/codecs/json'
import { sha256 } from 'multiformats/hashes/sha2'
import type { RegistrationFile } from '../../src/registration-file.ts'
import { fetchAgentFile } from '../../src/storage.ts'
import { fileViolation, isIdentityError } from './registration-file.ts'
import { registrationSeeds } from './seeds.ts'

let blockstore = new MemoryBlockstore()
const text = new TextDecoder()

/** The input served as an `ipfs://` JSON block, from `https://`, or as a `data:` URI (base64 or percent-encoded). */
async function fetchAs(input: Uint8Array): Promise<RegistrationFile> {
  switch ((input[0] ?? 0) % 4) {
    case 0: {
      const cid = CID.createV1(jsonCodec.code, await sha256.digest(input))
      await blockstore.put(cid, input)
      try {
        return await fetchAgentFile(`ipfs://${cid}`, { helia: { blockstore } })
      } finally {
        await blockstore.delete(cid)
      }
    }
    case 1:
      return fetchAgentFile('https://agent.example/agent.json', { fetch: async () => new Response(input) })
    case 2:
      return fetchAgentFile(`data:application/json;base64,${Buffer.from(input).toString('base64')}`)
    default:
      return fetchAgentFile(`data:application/json,${text.decode(input)}`)
  }
}

/** `fetchAgentFile`: a registration file behind an agentURI, over each transport it reads. */
export const agentFile: FuzzTarget = {
  name: 'identity-agent-file',
  cost: 'heavy',
  formats: ['json'],
  maxLength: 80 * 1024,
  seeds: registrationSeeds,
  // the first byte picks the transport: `{` (0x7b) reads as a percent-encoded data: URI; JSON whitespace in front
  // (space 0x20, tab 0x09, newline 0x0a) keeps the document valid and picks ipfs://, https:// or base64 data:
  mutate: (r, input) =>
    r.chance(0.5) ? Uint8Array.from([r.pick([0x20, 0x09, 0x0a]), ...input]) : mutateBytes(r, input, input),
  run: fetchAs,
  isTyped: isIdentityError,
  check: (_, file) => fileViolation(file as RegistrationFile),
  reset() {
    blockstore = new MemoryBlockstore()
  }
}
