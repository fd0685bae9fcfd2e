import { execFile } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createPublicClient, http, type PublicClient, parseEther } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type Devnet, startDevnet, usdcAbi } from '../src/index.ts'

// Each test runs the CLI in child processes under tsx (seconds of module loading each): room for a loaded machine.
vi.setConfig({ testTimeout: 90_000 })

const run = promisify(execFile)
const tsx = createRequire(import.meta.url).resolve('tsx')
const bin = join(import.meta.dirname, '..', 'src', 'bin.ts')

/** Runs `betar-devnet` from source, as it runs from dist, without BETAR_* variables. */
function cli(...args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BETAR_')))
  return run(process.execPath, ['--conditions=@betar/source', '--import', tsx, bin, ...args], { timeout: 60_000, env })
}

describe('betar-devnet fund', () => {
  let devnet: Devnet
  let client: PublicClient
  let summary: string
  const usdcOf = (address: `0x${string}`) =>
    client.readContract({ address: devnet.contracts.usdc, abi: usdcAbi, functionName: 'balanceOf', args: [address] })

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 1 })
    client = createPublicClient({ chain: devnet.chain, transport: http(devnet.rpcUrl) })
    summary = join(await mkdtemp(join(tmpdir(), 'devnet-fund-')), 'devnet.json')
    await writeFile(summary, JSON.stringify(devnet.toJSON()))
  })
  afterAll(async () => {
    await devnet?.stop()
  })

  it('funds a new address with decimal amounts from the devnet summary (--json)', async () => {
    const address = privateKeyToAddress(generatePrivateKey())
    const { stdout } = await cli('fund', address, '--usdc', '2.5', '--eth', '0.25', '--devnet', summary, '--json')
    const result = JSON.parse(stdout)
    expect(result).toMatchObject({
      address,
      usdc: { added: '2.5', balance: '2.5', addedAtomic: '2500000', balanceAtomic: '2500000' },
      eth: { added: '0.25', balance: '0.25', addedWei: parseEther('0.25').toString() }
    })
    expect(result.usdc.transaction).toMatch(/^0x[0-9a-f]{64}$/)
    expect(await usdcOf(address)).toBe(2_500_000n)
    expect(await client.getBalance({ address })).toBe(parseEther('0.25'))
  })

  it('defaults to 100 USDC and 1 ETH, and finds USDC from --rpc-url alone', async () => {
    const address = privateKeyToAddress(generatePrivateKey())
    const { stdout } = await cli('fund', address, '--rpc-url', devnet.rpcUrl)
    expect(stdout).toContain(`Funded ${address}: +100 USDC, +1 ETH`)
    expect(stdout).toContain('now 100 USDC and 1 ETH')
    expect(await usdcOf(address)).toBe(100_000_000n)
    expect(await client.getBalance({ address })).toBe(parseEther('1'))
  })

  it('fails with a clear message and exit code 1 on a bad amount, an amount over the limit or no devnet', async () => {
    const address = privateKeyToAddress(generatePrivateKey())
    const fail = async (...args: string[]) => {
      const err = await cli('fund', ...args).catch((e: unknown) => e)
      expect(err).toMatchObject({ code: 1 })
      return (err as { stderr: string }).stderr
    }
    expect(await fail(address, '--usdc', '1.0000001', '--devnet', summary)).toContain(
      '--usdc must be a decimal amount with at most 6 decimals'
    )
    expect(await fail(address, '--eth', '5000', '--devnet', summary)).toContain('eth must be 0…1000 ETH')
    expect(await fail(address)).toContain('pass --devnet <file>')
    expect(await fail('0x12', '--devnet', summary)).toContain('not an address')
    expect(await client.getBalance({ address })).toBe(0n)
  })

  it('--help documents the faucet', async () => {
    const { stdout } = await cli('fund', '--help')
    expect(stdout).toContain('--usdc <amount>')
    expect(stdout).toContain('default 100')
  })
})
