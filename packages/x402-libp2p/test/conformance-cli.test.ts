import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { DEVNET_MNEMONIC, deriveAccount, devnetUsdcAddress, USDC_NAME, USDC_VERSION } from '@betar/devnet'
import { createPublicClient, createWalletClient, defineChain, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONFORMANCE_CASES } from '../src/conformance/index.ts'
import { localSettler } from '../src/index.ts'
import { type Chain, startChain } from './fixtures/chain.ts'
import { createNode, type Transport, type X402Node } from './fixtures/nodes.ts'

const PRICE = 10_000n
const FRAME_TIMEOUT_MS = 2_000
const text = (s: string) => new TextEncoder().encode(s)
const tsx = createRequire(import.meta.url).resolve('tsx')
const bin = join(import.meta.dirname, '..', 'src', 'cli', 'bin.ts')

interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/** Runs `betar-conformance` from source in a child process, as it runs from dist, without BETAR_* variables. */
function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<CliRun> {
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BETAR_'))),
    ...extraEnv
  }
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=@betar/source', '--import', tsx, bin, ...args],
      { timeout: 120_000, env, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err == null ? 0 : typeof err.code === 'number' ? err.code : -1
        resolve({ code, stdout, stderr })
      }
    )
  })
}

let chain: Chain

beforeAll(async () => {
  chain = await startChain(3)
})
afterAll(async () => {
  await chain?.stop()
})

for (const transport of ['tcp', 'quic'] as Transport[]) {
  describe(`betar-conformance over ${transport}`, () => {
    let seller: X402Node

    beforeAll(async () => {
      seller = await createNode({
        transport,
        server: {
          settler: chain.settlerFor(chain.devnet.accounts[0]!),
          asset: chain.asset,
          frameTimeoutMs: FRAME_TIMEOUT_MS
        }
      })
      seller.services.x402Server.register('echo', {
        price: { amount: PRICE },
        handler: (req) => text(`echo:${new TextDecoder().decode(req.body)}`)
      })
      seller.services.x402Server.register('free', { price: null, handler: () => text('gratis') })
      seller.services.x402Server.register('boom', {
        price: { amount: PRICE },
        handler: () => {
          throw new Error('boom')
        }
      })
    })
    afterAll(async () => {
      await seller?.stop()
    })

    it('passes every case against our own node and prints a table', { timeout: 150_000 }, async () => {
      const addr = seller.getMultiaddrs()[0]!.toString()
      expect(addr).toContain(transport === 'tcp' ? '/tcp/' : '/quic-v1')
      const args = [addr, '--rpc', chain.devnet.rpcUrl, '--resource', 'echo', '--free', 'free', '--failing', 'boom']
      const run = await cli([...args, '--frame-timeout', String(FRAME_TIMEOUT_MS), '--json'], {
        BETAR_PAYER_KEY: chain.devnet.accounts[1]!.privateKey
      })
      expect(run.stderr).toBe('')
      const report = JSON.parse(run.stdout) as {
        failed: number
        results: { id: string; passed: boolean; skipped?: string; error?: string }[]
      }
      const failing = report.results.filter((r) => !r.passed && r.skipped == null)
      expect(failing, JSON.stringify(failing, null, 2)).toEqual([])
      expect(run.code).toBe(0)
      expect(report.results.map((r) => r.id)).toEqual(CONFORMANCE_CASES.map((c) => c.id))
      // Only the recovery cases need fault hooks into the target's chain, which a remote run cannot have.
      expect(report.results.filter((r) => r.skipped != null).every((r) => r.id.startsWith('recovery.'))).toBe(true)
    })
  })
}

/** A loopback port free right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

describe('betar-conformance --devnet', () => {
  let seller: X402Node
  let port: number

  // The target is configured for the devnet before it exists, as a user would: its port is fixed, and its USDC address
  // and accounts are the same on every start. The seller settles from account 0 and only reaches the RPC when paid.
  beforeAll(async () => {
    port = await freePort()
    const rpcUrl = `http://127.0.0.1:${port}`
    const chain = defineChain({
      id: 31337,
      name: 'Betar Devnet',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [rpcUrl] } }
    })
    const account = deriveAccount(DEVNET_MNEMONIC, 0).account
    seller = await createNode({
      server: {
        settler: localSettler({
          walletClient: createWalletClient({ account, chain, transport: http(rpcUrl) }),
          publicClient: createPublicClient({ chain, transport: http(rpcUrl), pollingInterval: 20 })
        }),
        asset: { network: 'eip155:31337', address: devnetUsdcAddress(), name: USDC_NAME, version: USDC_VERSION },
        frameTimeoutMs: FRAME_TIMEOUT_MS
      }
    })
    seller.services.x402Server.register('echo', {
      price: { amount: PRICE },
      handler: (req) => text(`echo:${new TextDecoder().decode(req.body)}`)
    })
  })
  afterAll(async () => {
    await seller?.stop()
  })

  it('starts the devnet itself, pays from its account 1, and passes', { timeout: 150_000 }, async () => {
    const addr = seller.getMultiaddrs()[0]!.toString()
    // The whole suite runs over TCP and QUIC above; here the paid flows and every error code (the robust.* cases
    // only wait out frame timeouts, the same with or without --devnet).
    const run = await cli([
      addr,
      '--devnet',
      '--devnet-port',
      String(port),
      '--resource',
      'echo',
      '--filter',
      '^(flow|error)\\.',
      '--json'
    ])
    expect(run.stderr).toBe('')
    const report = JSON.parse(run.stdout) as {
      devnet: { rpcUrl: string; chainId: number; usdc: string; payer: string; target: { address: string } }
      results: { id: string; passed: boolean; skipped?: string }[]
    }
    expect(report.devnet).toMatchObject({
      rpcUrl: `http://127.0.0.1:${port}`,
      chainId: 31337,
      usdc: devnetUsdcAddress(),
      payer: deriveAccount(DEVNET_MNEMONIC, 1).address,
      target: { address: deriveAccount(DEVNET_MNEMONIC, 0).address }
    })
    const failing = report.results.filter((r) => !r.passed && r.skipped == null)
    expect(failing, JSON.stringify(failing, null, 2)).toEqual([])
    expect(run.code).toBe(0)
  })

  it('prints the devnet above the table, and stops it after the run', { timeout: 150_000 }, async () => {
    const addr = seller.getMultiaddrs()[0]!.toString()
    const run = await cli([
      addr,
      '--devnet',
      '--devnet-port',
      String(port),
      '--resource',
      'echo',
      '--filter',
      '^flow\\.two-trip$'
    ])
    expect(run.stdout).toMatch(new RegExp(`^devnet: http://127\\.0\\.0\\.1:${port} \\(chain 31337, eip155:31337\\)`))
    expect(run.stdout).toContain(`USDC ${devnetUsdcAddress()}`)
    expect(run.stdout).toMatch(/\ncase\s+status\s+ms\s+message/)
    expect(run.code).toBe(0)
    // The port is free again: the devnet stopped with the run.
    await new Promise<void>((resolve, reject) => {
      const server = createServer().once('error', reject)
      server.listen(port, '127.0.0.1', () => server.close(() => resolve()))
    })
  })

  // Five CLI processes (each loads the package under tsx): side by side, with room for a loaded machine.
  it('refuses --devnet with --rpc or --payer-key, and devnet flags without --devnet', { timeout: 90_000 }, async () => {
    const addr = seller.getMultiaddrs()[0]!.toString()
    const cases = [
      ['--devnet', '--rpc', 'http://127.0.0.1:1'],
      ['--devnet', '--payer-key', `0x${'11'.repeat(32)}`],
      ['--devnet-port', '8545', '--rpc', 'http://127.0.0.1:1'],
      ['--devnet', '--devnet-port', '70000'],
      ['--facilitator-port', '1', '--rpc', 'http://127.0.0.1:1']
    ]
    const runs = await Promise.all(
      cases.map((args) => cli([addr, '--resource', 'echo', ...args], { BETAR_PAYER_KEY: `0x${'11'.repeat(32)}` }))
    )
    runs.forEach((run, i) => {
      expect(run.code, cases[i]!.join(' ')).toBe(2)
      expect(run.stderr).toMatch(/^betar-conformance: .*(--devnet|--facilitator-port)/)
    })
  })
})

describe('betar-conformance errors', () => {
  it('exits 2 with a clear message and no stack trace on a usage error', async () => {
    const run = await cli(['/ip4/127.0.0.1/tcp/1', '--rpc', 'http://127.0.0.1:1', '--resource', 'echo'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('betar-conformance: the multiaddr must end in /p2p/<peer id>')
    expect(run.stderr).not.toMatch(/\n\s+at /)
    const missing = await cli(['--resource', 'echo'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('expected exactly one <multiaddr>')
  })

  it('documents every flag in --help', async () => {
    const run = await cli(['--help'])
    expect(run.code).toBe(0)
    for (const flag of [
      '--rpc',
      '--payer-key',
      'BETAR_PAYER_KEY',
      '--resource',
      '--amount',
      '--pay-to',
      '--asset',
      '--free',
      '--failing',
      '--protocol',
      '--frame-timeout',
      '--case-timeout',
      '--filter',
      '--devnet',
      '--devnet-port',
      '--facilitator-port',
      '--json',
      '--help'
    ]) {
      expect(run.stdout).toContain(flag)
    }
  })

  it('fails, with exit 1 and a table, against a node that does not speak x402', { timeout: 60_000 }, async () => {
    const mute = await createNode({ server: { protocolPrefix: '/not-served' } })
    try {
      const run = await cli([mute.getMultiaddrs()[0]!.toString(), '--rpc', chain.devnet.rpcUrl, '--resource', 'echo'], {
        BETAR_PAYER_KEY: chain.devnet.accounts[1]!.privateKey
      })
      expect(run.code).toBe(1)
      expect(run.stdout).toMatch(/^case\s+status\s+ms\s+message/)
      expect(run.stdout).toMatch(/discovery\s+FAIL\s+\d+\s+cannot open \/x402\/libp2p\/2\.0\.0/)
      expect(run.stdout).toContain('0 passed, 1 failed')
      expect(run.stderr).toBe('')
    } finally {
      await mute.stop()
    }
  })
})
