import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Devnet, startDevnet } from '@betar/devnet'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliRunner, type RunningSeller } from './cli-harness.ts'

/** `betar start --dashboard` as a user runs it: the login link it prints signs a browser in, once. */
describe('betar start --dashboard', () => {
  let devnet: Devnet
  let dir: string
  let devnetFile: string
  let node: RunningSeller | undefined
  const outputs: string[] = []

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 1 })
    dir = await mkdtemp(join(tmpdir(), 'betar-dash-cli-'))
    devnetFile = join(dir, 'devnet.json')
    await writeFile(devnetFile, JSON.stringify(devnet.toJSON()))
  }, 60_000)

  afterAll(async () => {
    if (node != null && node.child.exitCode == null) {
      node.child.kill('SIGTERM')
      await once(node.child, 'exit')
    }
    await devnet?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('prints a one-time login link that the dashboard exchanges for a session cookie', async () => {
    const { startSeller, cli } = cliRunner(devnetFile, outputs)
    const env = { BETAR_WALLET_KEY: devnet.accounts[0]!.privateKey }
    const refused = await cli(['start', '--dashboard', '--no-api', '--data-dir', join(dir, 'a')], env)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('--dashboard needs the REST API')

    node = await startSeller(['--dashboard', '--data-dir', join(dir, 'b')], env)
    const link = /Dashboard: open (http:\/\/127\.0\.0\.1:\d+\/dashboard\/#login=([\w-]+)) /.exec(node.stdout)
    expect(link, node.stdout).not.toBeNull()
    const url = new URL(link![1]!)
    const code = link![2]!
    const origin = url.origin
    const page = await fetch(`${origin}/dashboard/`)
    expect([200, 503]).toContain(page.status) // 503 "not built" when dist/dashboard is missing
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'")

    const exchange = () =>
      fetch(`${origin}/dashboard/session`, {
        method: 'POST',
        headers: { origin, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' },
        body: JSON.stringify({ code })
      })
    const signedIn = await exchange()
    expect(signedIn.status).toBe(200)
    const cookie = (signedIn.headers.get('set-cookie') ?? '').split(';')[0]!
    expect(cookie).toMatch(new RegExp(`^betar_session_${url.port}=`))
    const status = await fetch(`${origin}/dashboard/api/status`, {
      headers: { cookie, 'x-betar-dashboard': '1', 'sec-fetch-site': 'same-origin' }
    })
    expect(status.status).toBe(200)
    expect(await status.json()).toMatchObject({ network: { name: 'devnet' } })
    expect((await exchange()).status).toBe(401)
  })
})
