import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const tsx = createRequire(import.meta.url).resolve('tsx')
const bin = join(import.meta.dirname, '..', 'src', 'bin.ts')

/** Runs the CLI from source, as `betar-devnet` would run from dist. */
function cli(...args: string[]) {
  return run(process.execPath, ['--conditions=@betar/source', '--import', tsx, bin, ...args], { timeout: 30_000 })
}

describe('betar-devnet CLI', () => {
  it('--once --json prints the contracts and funded accounts, then exits', async () => {
    const { stdout } = await cli('--once', '--json', '--accounts', '2', '--usdc', '5')
    const summary = JSON.parse(stdout)
    expect(summary.chainId).toBe(31337)
    expect(summary.network).toBe('eip155:31337')
    expect(Object.keys(summary.contracts).sort()).toEqual([
      'identityRegistry',
      'multicall3',
      'reputationRegistry',
      'usdc',
      'validationRegistry'
    ])
    expect(summary.accounts).toHaveLength(2)
    expect(summary.usdc).toEqual({ address: summary.contracts.usdc, name: 'USD Coin', version: '2', decimals: 6 })
  })

  it('prints a human summary by default', async () => {
    const { stdout } = await cli('--once', '--accounts', '1')
    expect(stdout).toMatch(/Betar devnet up in \d+ ms/)
    expect(stdout).toContain('identityRegistry')
    expect(stdout).toMatch(/#0 {3}0x[0-9a-fA-F]{40} {2}0x[0-9a-f]{64}/)
    // It says how to feed the betar CLI, which reads the JSON summary (issue 16).
    expect(stdout).toContain('betar-devnet --json > devnet.json')
    expect(stdout).toContain('--devnet devnet.json')
  })

  it('--help documents the flags', async () => {
    const { stdout } = await cli('--help')
    expect(stdout).toContain('--accounts <n>')
  })

  it('fails with a clear message and exit code 1 on a bad flag value', async () => {
    const err = await cli('--once', '--accounts', 'many').catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 1 })
    expect((err as { stderr: string }).stderr).toContain('--accounts must be a non-negative integer, got "many"')
  })

  it('fails on an unknown flag', async () => {
    const err = await cli('--frobnicate').catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 1 })
    expect((err as { stderr: string }).stderr).toContain("Unknown option '--frobnicate'")
  })
})
