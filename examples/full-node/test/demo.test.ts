import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { demoAgent } from '../src/demo-agent.ts'

describe('pnpm demo', () => {
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
    // [6] the two-hop workflow (text-stats → headline), its receipt verified, the final balances
    expect(stdout).toContain('[6]')
    expect(stdout).toMatch(/workflow [\w-]+: completed, spent 0\.35 USDC of 0\.4 USDC/)
    expect(stdout).toContain('verified on-chain: yes')
    expect(stdout).toMatch(/seller2 USDC 10000\.1 USDC \(\+0\.1 USDC\)/)
  }, 60_000)
})
