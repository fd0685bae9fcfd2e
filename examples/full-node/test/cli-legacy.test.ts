/**
 * `betar discover --legacy` against a Go-style peer (raw GossipSub + hand-written Go framing, from
 * packages/marketplace-crdt/test/legacy/go-peer.ts): its listing is pulled with Go's `info` and printed apart from
 * the signed sellers, marked unverified; without `--legacy` nothing of it shows.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Devnet } from '@betar/devnet'
import { startDevnet } from '@betar/devnet'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGoPeer, type GoPeer, goResponse } from '../../../packages/marketplace-crdt/test/legacy/go-peer.ts'
import { cliRunner } from './cli-harness.ts'

describe('betar discover --legacy', () => {
  let devnet: Devnet
  let dir: string
  let go: GoPeer
  let cli: ReturnType<typeof cliRunner>['cli']

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 1 })
    dir = await mkdtemp(join(tmpdir(), 'betar-cli-legacy-'))
    const devnetFile = join(dir, 'devnet.json')
    await writeFile(devnetFile, JSON.stringify(devnet.toJSON()))
    cli = cliRunner(devnetFile).cli
    go = await createGoPeer()
    const id = go.peerId.toString()
    go.answer = (type) =>
      type === 'info'
        ? goResponse(
            `[{"id":"${id}/did:key:z6MkGoCli","name":"go-summarizer","price":0.125,"metadata":"","sellerId":"${id}",` +
              `"addrs":["/ip4/127.0.0.1/tcp/4001"],"protocols":["/x402/libp2p/1.0.0"],"timestamp":1711900000}]`
          )
        : goResponse(`unknown message type: ${type}`)
  }, 60_000)

  afterAll(async () => {
    await go?.stop()
    await devnet?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  const args = () => ['discover', 'summarize', '--bootstrap', go.getMultiaddrs()[0]!.toString(), '--timeout', '3000']
  const wallet = () => ({ BETAR_WALLET_KEY: devnet.accounts[0]!.privateKey })

  it('prints Go listings apart, marked unverified, in JSON and text', { timeout: 90_000 }, async () => {
    const json = await cli([...args(), '--legacy', '--json'], wallet())
    expect(json.code, json.stderr).toBe(0)
    const body = JSON.parse(json.stdout) as { listings: unknown[]; legacy: Array<Record<string, unknown>> }
    expect(body.listings).toEqual([])
    expect(body.legacy).toEqual([
      expect.objectContaining({
        legacy: true,
        verified: false,
        seller: go.peerId.toString(),
        name: 'go-summarizer',
        priceAtomic: '125000',
        priceUsdc: '0.125'
      })
    ])
    const text = await cli([...args(), '--legacy'], wallet())
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/go-summarizer .*\[legacy, unverified\]/)
    expect(text.stdout).toContain(`seller   ${go.peerId}`)
  })

  it('shows nothing of Go nodes without --legacy', { timeout: 60_000 }, async () => {
    const run = await cli([...args(), '--json'], wallet())
    expect(run.code, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout)).toEqual([])
  })
})
