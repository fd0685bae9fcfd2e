import { createTestClient, http } from 'viem'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { X402Error, type X402Resource } from '../../src/index.ts'
import type { X402ServerImpl } from '../../src/server/server.ts'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { type FaultySeller, PRICE, payJob, startBuyers, startFaultySeller, str, text } from './harness.ts'
import { assertMoneyInvariant, balances, type PaidCallLog } from './money.ts'

/**
 * A buyer whose paid call is settling re-asks; the answer is not about the call (the resource is not registered yet
 * after a restart, or the seller rate-limits the buyer). The re-ask is answered from the call record first, and the
 * client keeps the signed payment — so the buyer still gets the result it paid for, charged once (found by review).
 */
let chain: Chain
let seller: FaultySeller | undefined
const test = () => createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })

beforeAll(async () => {
  chain = await startChain(4)
})
afterAll(async () => {
  await chain?.stop()
})
afterEach(async () => {
  await test().setAutomine(true)
  await seller?.stop()
  seller = undefined
})

async function scenario(
  interfere: (s: FaultySeller) => void,
  restore: (s: FaultySeller) => void,
  server = {}
): Promise<string[]> {
  seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
    server: { confirmationTimeoutMs: 300, resolveIntervalMs: 300, ...server }
  })
  const s = seller
  const [buyer] = await startBuyers(chain, [chain.devnet.accounts[1]!.account], { reaskAttempts: 0 })
  const client = buyer!.node.services.x402Client
  const options = { maxAmount: PRICE, payTo: s.address, correlationId: 'reask-1' }
  const before = await balances(chain, [buyer!.account.address])
  const seen: string[] = []
  const ask = async () => {
    try {
      const r = await client.call(s.node.getMultiaddrs(), 'job', text('x'), options)
      seen.push('result')
      return r
    } catch (err) {
      seen.push(err instanceof X402Error ? err.codeName : String(err))
      return undefined
    }
  }
  try {
    await test().setAutomine(false)
    await ask() // SETTLEMENT_PENDING: the transfer waits in the pool
    interfere(s)
    await ask()
    restore(s)
    await test().mine({ blocks: 1 })
    await test().setAutomine(true)
    let result: Awaited<ReturnType<typeof ask>>
    for (let i = 0; i < 10 && result == null; i++) {
      result = await ask()
      if (result == null) await new Promise((resolve) => setTimeout(resolve, 300))
    }
    expect(result, `answers: ${seen.join(', ')}`).toBeDefined()
    expect(str(result!.body)).toBe('done:x')
    expect(s.runs.get('reask-1')).toBe(1)
    const log: PaidCallLog = {
      buyer: buyer!.account.address,
      correlationId: 'reask-1',
      price: PRICE,
      asks: seen.length,
      result: result!
    }
    await assertMoneyInvariant(chain, before, [log], { datastore: s.datastore, settled: true })
    return seen
  } finally {
    await buyer!.node.stop()
  }
}

describe('a re-ask of a settling call gets an answer that is not about the call', () => {
  it('the resource is not registered (yet): the re-ask is answered from the call record', {
    timeout: 60_000
  }, async () => {
    let saved: X402Resource | undefined
    const seen = await scenario(
      (s) => {
        const server = s.node.services.x402Server as unknown as X402ServerImpl
        saved = server.resource('job')
        server.unregister('job')
      },
      (s) => s.node.services.x402Server.register('job', saved!)
    )
    expect(seen.slice(0, 2)).toEqual(['SETTLEMENT_PENDING', 'SETTLEMENT_PENDING'])
  })

  it('the seller rate-limits the buyer: the client keeps the signed payment and re-asks', {
    timeout: 60_000
  }, async () => {
    const seen = await scenario(
      () => {},
      () => {},
      { rateLimitPerSecond: 1 }
    )
    expect(seen[0]).toBe('SETTLEMENT_PENDING')
  })

  it('the seller cannot take the payment for a while: one authorization for the correlation id, ever', {
    timeout: 60_000
  }, async () => {
    // Room for one paid call in progress; someone else's takes it (no block is mined meanwhile).
    seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
      server: { maxPendingCalls: 1, confirmationTimeoutMs: 300 }
    })
    const s = seller
    const [occupier, buyer] = await startBuyers(
      chain,
      [chain.devnet.accounts[2]!.account, chain.devnet.accounts[1]!.account],
      { reaskAttempts: 1, reaskDelayMs: 50 }
    )
    try {
      await test().setAutomine(false)
      const occupied = await payJob(occupier!.node.services.x402Client, occupier!.account.address, s, 'occupy', {
        retry: { deadlineMs: 0 }
      })
      expect(occupied.error).toMatchObject({ codeName: 'SETTLEMENT_PENDING' })
      let signed = 0
      buyer!.node.services.x402Client.addEventListener('payment:signed', () => signed++)
      const before = await balances(chain, [buyer!.account.address, occupier!.account.address])
      const refused = await payJob(buyer!.node.services.x402Client, buyer!.account.address, s, 'same-call', {
        retry: { deadlineMs: 0 }
      })
      expect(refused.error).toMatchObject({ codeName: 'SERVICE_UNAVAILABLE' })
      await test().mine({ blocks: 1 })
      await test().setAutomine(true)
      const done = await payJob(occupier!.node.services.x402Client, occupier!.account.address, s, 'occupy', {
        retry: { deadlineMs: 20_000 }
      })
      // The application calls again with the same correlation id: the same signed payment is sent again.
      const log = await payJob(buyer!.node.services.x402Client, buyer!.account.address, s, 'same-call', {
        retry: { deadlineMs: 20_000 }
      })
      expect(log.error).toBeUndefined()
      expect(signed).toBe(1)
      await assertMoneyInvariant(chain, before, [done, log], { datastore: s.datastore, settled: true })
    } finally {
      await Promise.all([occupier!.node.stop(), buyer!.node.stop()])
    }
  })
})
