import { MemoryBlockstore } from 'blockstore-core'
import { CID } from 'multiformats/cid'
import * as jsonCodec from 'multiformats/codecs/json'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import {
  buildRegistrationFile,
  decodeRegistrationFile,
  fetchAgentFile,
  InvalidRegistrationFileError,
  MAX_REGISTRATION_FILE_DEPTH
} from '../src/index.ts'

const PEER = '12D3KooWBAdUmn8JKUy7ogZntEDnJC4FujdWgByHQiMf2PTqe5Eo'
const file = buildRegistrationFile({ name: 'a', description: 'b', peerId: PEER, multiaddrs: [], x402Support: true })

/** The file with an unknown field nested `depth` arrays deep (kept by the schema, encoded again later). */
const nested = (depth: number) =>
  new TextEncoder().encode(
    JSON.stringify({ ...file, extra: 'X' }).replace('"X"', `${'['.repeat(depth)}${']'.repeat(depth)}`)
  )

describe('registration files nested past the bound (issue 13)', () => {
  it('decodes one at the bound and refuses one level more, before parsing', () => {
    expect(decodeRegistrationFile(nested(MAX_REGISTRATION_FILE_DEPTH - 1)).name).toBe('a') // the file itself is a level
    expect(() => decodeRegistrationFile(nested(MAX_REGISTRATION_FILE_DEPTH))).toThrow(InvalidRegistrationFileError)
  })

  it('refuses a 5,000-deep ipfs:// block with the typed error (encoding it again overflowed the stack)', async () => {
    const blockstore = new MemoryBlockstore()
    const bytes = nested(5_000)
    const cid = CID.createV1(jsonCodec.code, await sha256.digest(bytes))
    await blockstore.put(cid, bytes)
    await expect(fetchAgentFile(`ipfs://${cid}`, { helia: { blockstore } })).rejects.toThrow(/nests more than 64/)
    await expect(fetchAgentFile(`ipfs://${cid}`, { helia: { blockstore } })).rejects.toBeInstanceOf(
      InvalidRegistrationFileError
    )
  })
})
