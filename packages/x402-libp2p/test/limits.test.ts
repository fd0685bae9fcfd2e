import { MemoryDatastore } from 'datastore-core'
import { toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Channel } from '../src/channel.ts'
import { signExactPayment } from '../src/client/sign.ts'
import { X402_PROTOCOL, X402Error } from '../src/index.ts'
import { jsonBytes } from '../src/json.ts'
import { type Chain, startChain } from './fixtures/chain.ts'
import { createNode, type X402Node } from './fixtures/nodes.ts'

const PRICE = 5_000n
const text = (s: string) => new TextEncoder().encode(s)

describe('stateless resources, rate limits and garbage collection', () => {
  let chain: Chain
  let seller: X402Node
  let buyer: X402Node
  const datastore = new MemoryDatastore()

  beforeAll(async () => {
    chain = await startChain()
    seller = await createNode({
      datastore,
      server: {
        settler: chain.settlerFor(chain.devnet.accounts[0]!),
        asset: chain.asset,
        maxChallengesPerPeer: 3,
        rateLimitPerSecond: 1000,
        challengeTtlSeconds: 1,
        challengeRetentionMs: 500,
        recordTtlMs: 500
      }
    })
    buyer = await createNode({ client: { signer: chain.devnet.accounts[1]!.account, asset: chain.asset } })
    seller.services.x402Server.register('stateless', {
      price: { amount: PRICE },
      challenge: false,
      handler: () => text('ok')
    })
    seller.services.x402Server.register('paid', { price: { amount: PRICE }, handler: () => text('ok') })
  })
  afterAll(async () => {
    await Promise.all([buyer?.stop(), seller?.stop()])
    await chain?.stop()
  })

  async function rawRequest(correlationId: string, resource: string) {
    const stream = await buyer.dialProtocol(seller.getMultiaddrs(), X402_PROTOCOL)
    const channel = new Channel(stream, { maxBodySize: 1 << 20, frameTimeoutMs: 5_000 })
    await channel.write({
      type: 'REQUEST',
      correlationId,
      request: { resource, body: new Uint8Array(), contentType: '' }
    })
    const reply = await channel.read()
    stream.abort(new Error('done'))
    return reply
  }

  it('a stateless resource answers PAYMENT_REQUIRED (2000) with its terms, and the client pays up front', async () => {
    const reply = await rawRequest('stateless-raw', 'stateless')
    if (reply.type !== 'ERROR') throw new Error(`expected ERROR, got ${reply.type}`)
    expect(reply.error).toMatchObject({ code: 2000, name: 'PAYMENT_REQUIRED', retryable: true })
    const details = JSON.parse(new TextDecoder().decode(reply.error.details))
    expect(details.accepts[0]).toMatchObject({ amount: String(PRICE), payTo: chain.devnet.accounts[0]!.address })

    const before = await chain.balance(chain.devnet.accounts[0]!.address)
    const r = await buyer.services.x402Client.call(seller.getMultiaddrs(), 'stateless', text('x'), {
      maxAmount: PRICE,
      payTo: chain.devnet.accounts[0]!.address
    })
    expect(new TextDecoder().decode(r.body)).toBe('ok')
    expect(await chain.balance(chain.devnet.accounts[0]!.address)).toBe(before + PRICE)
  })

  it('paid challenges do not count against the unpaid-challenge limit', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await buyer.services.x402Client.call(seller.getMultiaddrs(), 'paid', text(`n${i}`), {
        maxAmount: PRICE,
        payTo: chain.devnet.accounts[0]!.address
      })
      expect(r.settlement?.success).toBe(true)
    }
  })

  it('limits unpaid challenges per peer (RATE_LIMITED), since each one is stored', async () => {
    const replies = []
    for (let i = 0; i < 4; i++) replies.push(await rawRequest(`hoard-${i}`, 'paid'))
    expect(replies.slice(0, 3).map((r) => r.type)).toEqual(['PAYMENT_REQUIRED', 'PAYMENT_REQUIRED', 'PAYMENT_REQUIRED'])
    const last = replies[3]!
    if (last.type !== 'ERROR') throw new Error(`expected ERROR, got ${last.type}`)
    expect(last.error).toMatchObject({ code: 4000, name: 'RATE_LIMITED', retryable: true })
  })

  it('garbage-collects expired challenges, so unpaid requests do not grow the datastore', async () => {
    const count = async () => {
      let n = 0
      for await (const _ of datastore.query({ prefix: '/betar/x402/challenges' })) n++
      return n
    }
    expect(await count()).toBeGreaterThanOrEqual(3) // from the previous test
    await new Promise((r) => setTimeout(r, 1_700)) // challenge TTL 1 s + record TTL 0.5 s
    expect(await seller.services.x402Server.gc()).toBeGreaterThanOrEqual(3)
    expect(await count()).toBe(0)
  })

  it('rejects per-peer floods with RATE_LIMITED', async () => {
    const flooded = await createNode({
      server: { settler: chain.settlerFor(chain.devnet.accounts[0]!), asset: chain.asset, rateLimitPerSecond: 2 }
    })
    flooded.services.x402Server.register('free', { price: null, handler: () => text('hi') })
    try {
      const results = await Promise.all(
        Array.from({ length: 6 }, () =>
          buyer.services.x402Client.call(flooded.getMultiaddrs(), 'free', new Uint8Array()).then(
            () => 'ok',
            (e: unknown) => (e instanceof X402Error ? e.codeName : String(e))
          )
        )
      )
      expect(results.filter((r) => r === 'ok').length).toBeGreaterThanOrEqual(1)
      expect(results).toContain('RATE_LIMITED')
    } finally {
      await flooded.stop()
    }
  })
})

describe('challenge expiry', () => {
  it('a payment for an expired challenge is NONCE_EXPIRED (retryable), and nothing moves', async () => {
    const chain = await startChain(3)
    const seller = await createNode({
      server: { settler: chain.settlerFor(chain.devnet.accounts[0]!), asset: chain.asset, challengeTtlSeconds: 1 }
    })
    const dialer = await createNode()
    seller.services.x402Server.register('paid', { price: { amount: PRICE }, handler: () => text('ok') })
    try {
      const stream = await dialer.dialProtocol(seller.getMultiaddrs(), X402_PROTOCOL)
      const channel = new Channel(stream, { maxBodySize: 1 << 20, frameTimeoutMs: 10_000 })
      const request = { resource: 'paid', body: new Uint8Array(), contentType: '' }
      await channel.write({ type: 'REQUEST', correlationId: 'late-1', request })
      const challenge = await channel.read()
      if (challenge.type !== 'PAYMENT_REQUIRED') throw new Error(`expected PAYMENT_REQUIRED, got ${challenge.type}`)
      stream.abort(new Error('the buyer goes away'))
      await new Promise((r) => setTimeout(r, 2_100)) // past expires_at

      const requirements = seller.services.x402Server.requirements('paid')[0]!
      const payload = await signExactPayment(
        chain.devnet.accounts[1]!.account,
        requirements,
        toHex(challenge.paymentRequired.challenge)
      )
      const late = new Channel(await dialer.dialProtocol(seller.getMultiaddrs(), X402_PROTOCOL), {
        maxBodySize: 1 << 20,
        frameTimeoutMs: 10_000
      })
      const before = await chain.balance(chain.devnet.accounts[1]!.address)
      await late.write({
        type: 'PAID_REQUEST',
        correlationId: 'late-1',
        request: { ...request, payment: jsonBytes(payload) }
      })
      const reply = await late.read()
      if (reply.type !== 'ERROR') throw new Error(`expected ERROR, got ${reply.type}`)
      expect(reply.error).toMatchObject({ code: 2003, name: 'NONCE_EXPIRED', retryable: true })
      expect(await chain.balance(chain.devnet.accounts[1]!.address)).toBe(before)
    } finally {
      await Promise.all([dialer.stop(), seller.stop()])
      await chain.stop()
    }
  })
})
