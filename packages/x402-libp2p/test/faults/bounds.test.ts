import type { PaymentRequirements } from '@x402/core/types'
import { createTestClient, type Hex, http, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Channel } from '../../src/channel.ts'
import { signExactPayment } from '../../src/client/sign.ts'
import { DEFAULT_CHALLENGE_RETENTION_MS, X402_PROTOCOL, type X402Error } from '../../src/index.ts'
import { jsonBytes } from '../../src/json.ts'
import { parsePaymentRequiredBytes } from '../../src/payment.ts'
import type { WireMessage } from '../../src/wire.ts'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { createNode, type X402Node } from '../fixtures/nodes.ts'
import { type FaultySeller, PRICE, payJob, startBuyers, startFaultySeller, str, text } from './harness.ts'
import { assertMoneyInvariant, balances, type PaidCallLog, resultOf } from './money.ts'
import { challengeAndSign, rawExchange } from './raw.ts'

/**
 * Issue case 10: peer ids are free, so per-peer limits alone do not bound what a seller stores. Challenges are bounded
 * across all peers (the oldest evicted — an honest buyer whose challenge was evicted still pays, as a preemptive
 * payment), kept only minutes after they expire; paid calls in progress are bounded too (new ones refused with the
 * retryable SERVICE_UNAVAILABLE before anything is reserved — a pending call is never evicted).
 */
let chain: Chain

beforeAll(async () => {
  chain = await startChain(4)
})
afterAll(async () => {
  await chain?.stop()
})

async function request(dialer: X402Node, seller: X402Node, correlationId: string): Promise<WireMessage> {
  const stream = await dialer.dialProtocol(seller.getMultiaddrs(), X402_PROTOCOL)
  const channel = new Channel(stream, { maxBodySize: 1 << 20, frameTimeoutMs: 10_000 })
  await channel.write({
    type: 'REQUEST',
    correlationId,
    request: { resource: 'job', body: text(correlationId), contentType: '' }
  })
  const reply = await channel.read()
  stream.abort(new Error('done'))
  return reply
}

describe('stored challenges are bounded across all peers', () => {
  let seller: FaultySeller
  const dialers: X402Node[] = []

  beforeAll(async () => {
    seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
      server: { maxStoredChallenges: 500 },
      inboundConnectionThreshold: 100
    })
    for (let i = 0; i < 15; i++) {
      const dialer = await createNode()
      await dialer.dial(seller.node.getMultiaddrs()) // one connection each, before the flood of streams
      dialers.push(dialer)
    }
  })
  afterAll(async () => {
    await Promise.all(dialers.map((d) => d.stop()))
    await seller?.stop()
  })

  it('15 peer ids × 64 unpaid challenges store at most the bound; the oldest are evicted', {
    timeout: 60_000
  }, async () => {
    const first = await request(dialers[0]!, seller.node, 'bound-0-0')
    if (first.type !== 'PAYMENT_REQUIRED') throw new Error(`expected PAYMENT_REQUIRED, got ${first.type}`)
    for (const [d, dialer] of dialers.entries()) {
      for (let batch = 0; batch < 64; batch += 16) {
        await Promise.all(
          Array.from({ length: 16 }, (_, j) => batch + j)
            .filter((i) => d !== 0 || i !== 0)
            .map(async (i) => {
              const reply = await request(dialer, seller.node, `bound-${d}-${i}`)
              expect(reply.type).toBe('PAYMENT_REQUIRED')
            })
        )
      }
    }
    expect(seller.node.services.x402Server.stats().storedChallenges).toBe(500)
    let stored = 0
    let latestExpiry = 0
    for await (const { value } of seller.datastore.query({ prefix: '/betar/x402/challenges' })) {
      stored++
      const entry = JSON.parse(new TextDecoder().decode(value)) as { expiresAt: number; value: { expiresAt: number } }
      // Kept for the retention (minutes) after the challenge expires, not for a day.
      expect(entry.expiresAt - entry.value.expiresAt * 1000).toBe(DEFAULT_CHALLENGE_RETENTION_MS)
      latestExpiry = Math.max(latestExpiry, entry.expiresAt)
    }
    expect(stored).toBe(500)
    expect(latestExpiry - Date.now()).toBeLessThan(10 * 60 * 1000)

    // The very first challenge was evicted; its honest buyer still pays, checked as a preemptive payment.
    const payer = chain.devnet.accounts[1]!
    const requirements = parsePaymentRequiredBytes(first.paymentRequired.paymentRequired)
      .accepts[0] as PaymentRequirements
    const payload = await signExactPayment(payer.account, requirements, toHex(first.paymentRequired.challenge) as Hex)
    const stream = await dialers[0]!.dialProtocol(seller.node.getMultiaddrs(), X402_PROTOCOL)
    const channel = new Channel(stream, { maxBodySize: 1 << 20, frameTimeoutMs: 20_000 })
    const before = await balances(chain, [payer.address])
    await channel.write({
      type: 'PAID_REQUEST',
      correlationId: 'bound-0-0',
      request: { resource: 'job', body: text('bound-0-0'), contentType: '', payment: jsonBytes(payload) }
    })
    const paid = await channel.read()
    if (paid.type !== 'RESPONSE') throw new Error(`expected RESPONSE, got ${paid.type}`)
    expect(str(paid.response.body)).toBe('done:bound-0-0')
    const log: PaidCallLog = {
      buyer: payer.address,
      correlationId: 'bound-0-0',
      price: PRICE,
      asks: 1,
      result: resultOf(paid)
    }
    await assertMoneyInvariant(chain, before, [log], { datastore: seller.datastore, settled: true })
  })
})

describe('paid calls in progress are bounded across all peers', () => {
  it('beyond the bound, a payment is refused SERVICE_UNAVAILABLE before anything is reserved', {
    timeout: 60_000
  }, async () => {
    const seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
      server: { maxPendingCalls: 2, confirmationTimeoutMs: 300 }
    })
    const buyers = await startBuyers(
      chain,
      chain.devnet.accounts.slice(1, 4).map((a) => a.account),
      { reaskAttempts: 0 }
    )
    const test = createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })
    try {
      const before = await balances(
        chain,
        buyers.map((b) => b.account.address)
      )
      await test.setAutomine(false)
      const call = (i: number, deadlineMs: number) =>
        payJob(buyers[i]!.node.services.x402Client, buyers[i]!.account.address, seller, `pending-${i}`, {
          retry: { deadlineMs }
        })
      const [a, b] = await Promise.all([call(0, 0), call(1, 0)])
      expect([a.error, b.error].map((e) => (e as X402Error).codeName)).toEqual([
        'SETTLEMENT_PENDING',
        'SETTLEMENT_PENDING'
      ])
      expect(seller.node.services.x402Server.stats().pendingCalls).toBe(2)
      const third = await call(2, 0)
      expect(third.error).toMatchObject({ codeName: 'SERVICE_UNAVAILABLE', retryable: true })
      expect(seller.node.services.x402Server.stats().pendingCalls).toBe(2)
      expect(seller.proxy.count('eth_sendRawTransaction')).toBe(2)

      await test.mine({ blocks: 1 })
      await test.setAutomine(true)
      const logs = await Promise.all([call(0, 20_000), call(1, 20_000), call(2, 20_000)])
      expect(logs.map((l) => l.error)).toEqual([undefined, undefined, undefined])
      await assertMoneyInvariant(chain, before, logs, { datastore: seller.datastore, settled: true })
    } finally {
      await test.setAutomine(true)
      await Promise.all(buyers.map((b) => b.node.stop()))
      await seller.stop()
    }
  })
})

describe('the bounds hold under concurrency', () => {
  it('8 concurrent payments with room for 2: exactly 2 reserved, the rest SERVICE_UNAVAILABLE', {
    timeout: 60_000
  }, async () => {
    const seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
      server: { maxPendingCalls: 2, confirmationTimeoutMs: 300 }
    })
    const dialer = await createNode()
    const test = createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })
    try {
      const payers = chain.devnet.accounts.slice(1, 4).map((a) => a.account)
      const calls = []
      for (let i = 0; i < 8; i++) calls.push(await challengeAndSign(dialer, seller.node, `burst-${i}`, payers[i % 3]!))
      await test.setAutomine(false) // the reserved ones stay pending
      const answers = await Promise.all(calls.map((c) => rawExchange(dialer, seller.node, [c.paid])))
      const names = answers.map(([a]) => (a?.type === 'ERROR' ? a.error.name : a?.type))
      expect(names.filter((n) => n === 'SETTLEMENT_PENDING')).toHaveLength(2)
      expect(names.filter((n) => n === 'SERVICE_UNAVAILABLE')).toHaveLength(6)
      expect(seller.node.services.x402Server.stats().pendingCalls).toBe(2)
    } finally {
      await test.mine({ blocks: 1 })
      await test.setAutomine(true)
      await dialer.stop()
      await seller.stop()
    }
  })

  it('one payer holds at most maxPendingCallsPerPayer calls in progress', { timeout: 60_000 }, async () => {
    const seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
      server: { maxPendingCallsPerPayer: 3, confirmationTimeoutMs: 300 }
    })
    const dialer = await createNode()
    const test = createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })
    try {
      const payer = chain.devnet.accounts[2]!.account
      const calls = []
      for (let i = 0; i < 5; i++) calls.push(await challengeAndSign(dialer, seller.node, `per-payer-${i}`, payer))
      await test.setAutomine(false)
      const answers = await Promise.all(calls.map((c) => rawExchange(dialer, seller.node, [c.paid])))
      const names = answers.map(([a]) => (a?.type === 'ERROR' ? a.error.name : a?.type))
      expect(names.filter((n) => n === 'SERVICE_UNAVAILABLE')).toHaveLength(2)
      expect(seller.node.services.x402Server.stats().pendingCalls).toBe(3)
      // Another payer is not held up by the first one's calls.
      const other = await challengeAndSign(dialer, seller.node, 'other-payer', chain.devnet.accounts[3]!.account)
      const [answer] = await rawExchange(dialer, seller.node, [other.paid])
      expect(answer?.type === 'ERROR' ? answer.error.name : answer?.type).toBe('SETTLEMENT_PENDING')
    } finally {
      await test.mine({ blocks: 1 })
      await test.setAutomine(true)
      await dialer.stop()
      await seller.stop()
    }
  })
})
