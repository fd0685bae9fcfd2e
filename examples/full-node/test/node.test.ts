import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { type Devnet, startDevnet } from '@betar/devnet'
import { SYNC_PROTOCOL } from '@betar/marketplace-crdt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { demoAgent } from '../src/demo-agent.ts'
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

  it('sells the offline echo agent by default and an ADK agent when GOOGLE_API_KEY is set', () => {
    expect(demoAgent({}).executor).toEqual({ kind: 'echo' })
    expect(demoAgent({ GOOGLE_API_KEY: 'k' }).executor).toMatchObject({ kind: 'adk', model: 'gemini-2.0-flash' })
  })

  it('the demo script runs to completion and prints every step', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--conditions=@betar/source', 'src/demo.ts'],
      { cwd: join(import.meta.dirname, '..'), env: { ...process.env, GOOGLE_API_KEY: '' }, timeout: 60_000 }
    )
    for (const n of [1, 2, 3, 4, 5]) expect(stdout).toContain(`[${n}]`)
    expect(stdout).toContain('identity verified: yes')
    expect(stdout).toMatch(/buyer {2}USDC 9999\.75 USDC \(-0\.25 USDC\)/)
    expect(stdout).toMatch(/seller USDC 10000\.25 USDC \(\+0\.25 USDC\)/)
    expect(stdout).toMatch(/seller score \(starred\): [\d.]+ from 1 paying client/)
  }, 60_000)
})
