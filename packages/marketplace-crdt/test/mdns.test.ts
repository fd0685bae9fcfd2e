import { execFile, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const tsx = createRequire(import.meta.url).resolve('tsx')
const script = join(import.meta.dirname, 'lan', 'mdns-pair.ts')

// mDNS multicasts on every interface, so it is only ever tested inside a network namespace of its own, with nothing
// but a multicast-enabled loopback (creating one needs root, as CI has).
const canUnshare = spawnSync('unshare', ['-n', 'true']).status === 0

describe('LAN discovery (mDNS) in an isolated network namespace', () => {
  it.runIf(canUnshare)('finds a seller by mDNS, dials it, and syncs its listing', async () => {
    const setup = 'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo'
    const command = `${setup} && exec "${process.execPath}" --conditions=@betar/source --import "${tsx}" "${script}"`
    const { stdout } = await run('unshare', ['-n', 'sh', '-c', command], { timeout: 30_000 })
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}')
    expect(result).toMatchObject({ ok: true })
    expect(result.connections).toBeGreaterThan(0)
  })
})
