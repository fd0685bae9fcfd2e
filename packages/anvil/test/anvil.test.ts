import { createPublicClient, createWalletClient, http } from 'viem'
import { describe, expect, it } from 'vitest'
import { AnvilStartError, startAnvil } from '../src/index.ts'

describe('startAnvil', () => {
  it('starts on a free loopback port, answers RPC, and stops', async () => {
    const anvil = await startAnvil({ chainId: 4242, accounts: 3 })
    try {
      expect(anvil.host).toBe('127.0.0.1')
      expect(anvil.port).toBeGreaterThan(0)
      const client = createPublicClient({ transport: http(anvil.rpcUrl) })
      expect(await client.getChainId()).toBe(4242)
      expect(await createWalletClient({ transport: http(anvil.rpcUrl) }).getAddresses()).toHaveLength(3)
    } finally {
      await anvil.stop()
    }
    expect(anvil.process.exitCode != null || anvil.process.signalCode != null).toBe(true)
    await anvil.stop() // idempotent
  })

  it('runs two instances side by side on different ports', async () => {
    const [a, b] = await Promise.all([startAnvil(), startAnvil()])
    try {
      expect(a.port).not.toBe(b.port)
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })

  it('reports a failed spawn with a typed error', async () => {
    await expect(startAnvil({ binary: '/nonexistent/anvil' })).rejects.toMatchObject({ name: 'AnvilStartError' })
  })

  it('reports an early exit (bad arguments) with the logs', async () => {
    const err = await startAnvil({ args: ['--no-such-flag'] }).catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'AnvilExitedError' })
    expect((err as { logs: string[] }).logs.join('\n')).toContain('no-such-flag')
  })

  it('honours an already aborted signal', async () => {
    await expect(startAnvil({ signal: AbortSignal.abort() })).rejects.toThrow()
  })

  it('names its error classes stably', () => {
    expect(new AnvilStartError().name).toBe('AnvilStartError')
  })
})
