import { createTestClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WireMessage } from '../../src/wire.ts'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { createNode, type X402Node } from '../fixtures/nodes.ts'
import { type FaultySeller, startFaultySeller, totalRuns } from './harness.ts'
import { assertMoneyInvariant } from './money.ts'
import { challengeAndSign, rawExchange } from './raw.ts'

/**
 * One signed authorization presented for several calls — under other correlation ids, from other peers, concurrently
 * with the original and again while its settlement waits in the pool, with the nonce and payer address spelled in
 * upper case. Exactly one call is served (found to hold by review; kept as a regression test).
 */
describe('replaying one authorization', () => {
  let chain: Chain
  let seller: FaultySeller
  const dialers: X402Node[] = []

  beforeAll(async () => {
    chain = await startChain(3)
    seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
      server: { confirmationTimeoutMs: 500, resolveIntervalMs: 300 }
    })
    for (let i = 0; i < 4; i++) dialers.push(await createNode())
  })
  afterAll(async () => {
    await Promise.all(dialers.map((d) => d.stop()))
    await seller?.stop()
    await chain?.stop()
  })

  /** The same payment under another correlation id, its nonce and payer address in upper-case hex. */
  function respell(frame: WireMessage, correlationId: string): WireMessage {
    if (frame.type !== 'PAID_REQUEST') throw new Error('not a PAID_REQUEST')
    const payment = JSON.parse(new TextDecoder().decode(frame.request.payment))
    const a = payment.payload.authorization
    a.nonce = `0x${a.nonce.slice(2).toUpperCase()}`
    a.from = `0x${a.from.slice(2).toUpperCase()}`
    return {
      ...frame,
      correlationId,
      request: { ...frame.request, payment: new TextEncoder().encode(JSON.stringify(payment)) }
    }
  }

  it('concurrently and while the settlement is in the pool: one call served, the others NONCE_USED', {
    timeout: 60_000
  }, async () => {
    const test = createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })
    const { paid } = await challengeAndSign(dialers[0]!, seller.node, 'orig', chain.devnet.accounts[1]!.account)
    try {
      await test.setAutomine(false)
      const concurrent = await Promise.all([
        rawExchange(dialers[0]!, seller.node, [paid]),
        rawExchange(dialers[1]!, seller.node, [{ ...paid, correlationId: 'replay-a' }]),
        rawExchange(dialers[2]!, seller.node, [respell(paid, 'replay-b')])
      ])
      const later = await rawExchange(dialers[3]!, seller.node, [respell(paid, 'replay-c')])
      await test.mine({ blocks: 1 })
      await test.setAutomine(true)
      const names = [...concurrent, later].map(([a]) => (a?.type === 'ERROR' ? a.error.name : a?.type))
      expect(names.filter((n) => n === 'NONCE_USED')).toHaveLength(3)
      const [done] = await rawExchange(dialers[0]!, seller.node, [paid])
      expect(done?.type).toBe('RESPONSE')
      expect(totalRuns(seller.runs)).toBe(1)
      await assertMoneyInvariant(chain, new Map(), [], { datastore: seller.datastore, settled: true })
    } finally {
      await test.setAutomine(true)
    }
  })
})
