import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Devnet, startDevnet } from '@betar/devnet'
import { SYNC_PROTOCOL } from '@betar/marketplace-crdt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BETAR_KAD_PROTOCOL } from '../src/index.ts'
import { nodeOn } from './fixtures.ts'

describe('createBetarNode', () => {
  let devnet: Devnet
  let dir: string

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 1 })
    dir = await mkdtemp(join(tmpdir(), 'betar-node-'))
  })

  afterAll(async () => {
    await devnet?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('runs every Betar protocol on one host and keeps its identity in the LevelDB datastore', async () => {
    const first = await nodeOn(devnet, 0, { dataDir: dir })
    const protocols = first.libp2p.getProtocols()
    expect(protocols).toEqual(
      expect.arrayContaining([
        BETAR_KAD_PROTOCOL,
        '/x402/libp2p/2.0.0',
        SYNC_PROTOCOL,
        '/ipfs/bitswap/1.2.0',
        '/ipfs/id/1.0.0',
        '/ipfs/ping/1.0.0'
      ])
    )
    expect(first.multiaddrs()[0]?.toString()).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)
    const peerId = first.peerId
    await first.stop()
    const second = await nodeOn(devnet, 0, { dataDir: dir })
    expect(second.peerId).toBe(peerId)
    await second.stop()
  })
})
