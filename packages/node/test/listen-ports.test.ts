import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nodeOn, startDevnet } from './fixtures.ts'

const tcpPort = (addresses: string[]) => Number(/\/tcp\/(\d+)/.exec(addresses[0] ?? '')?.[1])

/** Issue 11, case 1: a persistent node comes back on the port it had; if that port is taken, on a new one. */
describe('full node: listen ports across restarts', () => {
  let devnet: Awaited<ReturnType<typeof startDevnet>>
  let dir: string

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 1 })
    dir = await mkdtemp(join(tmpdir(), 'betar-ports-'))
  }, 60_000)
  afterAll(async () => {
    await devnet?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('reuses the remembered port and peer id; a taken port falls back to a fresh one, then that is remembered', async () => {
    const dataDir = join(dir, 'node')
    let node = await nodeOn(devnet, 0, { dataDir })
    const first = { peerId: node.peerId, port: tcpPort(node.multiaddrs().map(String)) }
    expect(first.port).toBeGreaterThan(0)
    await node.stop()

    node = await nodeOn(devnet, 0, { dataDir })
    expect({ peerId: node.peerId, port: tcpPort(node.multiaddrs().map(String)) }).toEqual(first)
    await node.stop()

    // Someone else holds the port now: the node still starts, on another port, and remembers that one.
    const squatter = createServer()
    await new Promise<void>((resolve) => squatter.listen(first.port, '127.0.0.1', resolve))
    try {
      node = await nodeOn(devnet, 0, { dataDir })
      const moved = tcpPort(node.multiaddrs().map(String))
      expect(moved).not.toBe(first.port)
      expect(node.peerId).toBe(first.peerId)
      await node.stop()
      node = await nodeOn(devnet, 0, { dataDir })
      expect(tcpPort(node.multiaddrs().map(String))).toBe(moved)
      await node.stop()
    } finally {
      await new Promise((resolve) => squatter.close(resolve))
    }
  }, 60_000)
})
