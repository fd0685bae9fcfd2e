import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, Stream } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { RawExchange } from '../src/conformance/exchange.ts'
import {
  DEFAULT_MAX_BODY_SIZE,
  FRAME_OVERHEAD,
  X402_PROTOCOL,
  X402_SESSION_PROTOCOL,
  type X402Server
} from '../src/index.ts'
import { SessionStream } from '../src/session-stream.ts'
import type { WireMessage } from '../src/wire.ts'
import { type Chain, startChain } from './fixtures/chain.ts'
import { createNode, type X402Node } from './fixtures/nodes.ts'

const PRICE = 10_000n
const text = (s: string) => new TextEncoder().encode(s)
const str = (b: Uint8Array) => new TextDecoder().decode(b)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The x402 streams of the buyer's connections to `seller`, by protocol. */
function streamsTo(buyer: X402Node, seller: X402Node): Stream[] {
  return buyer.getConnections(seller.peerId).flatMap((c) => c.streams)
}

/** A raw session stream from `node` to `seller`, driven frame by frame. */
async function rawSession(node: Libp2p, seller: X402Node): Promise<RawExchange> {
  const signal = AbortSignal.timeout(30_000)
  return new RawExchange(await node.dialProtocol(seller.getMultiaddrs(), X402_SESSION_PROTOCOL, { signal }), signal)
}

const request = (correlationId: string, resource: string, body = 'x'): WireMessage => ({
  type: 'REQUEST',
  correlationId,
  request: { resource, body: text(body), contentType: '' }
})

/** Every frame until the session ends (or `ms` pass). */
async function framesUntilEnd(session: RawExchange, ms = 10_000): Promise<{ frames: WireMessage[]; ended: boolean }> {
  const { frames, ended } = await session.waitForEnd(ms)
  return { frames, ended }
}

describe('/x402/libp2p/2.1.0 sessions: a buyer’s calls share one stream (spec §2.1)', () => {
  let chain: Chain
  let seller: X402Node
  let buyer: X402Node
  let server: X402Server
  /** A seller whose sessions take 3 exchanges at once. */
  let small: X402Node
  const cut = { next: false }

  beforeAll(async () => {
    chain = await startChain(4)
    const [sellerAccount, buyerAccount] = chain.devnet.accounts
    seller = await createNode({
      server: { settler: chain.settlerFor(sellerAccount!), asset: chain.asset, sessions: { idleTimeoutMs: 2_000 } }
    })
    small = await createNode({ server: { sessions: { maxExchanges: 3 } } })
    small.services.x402Server.register('slow', {
      price: null,
      handler: async (req) => {
        await sleep(Number(str(req.body)))
        return text(`slow:${str(req.body)}`)
      }
    })
    buyer = await createNode({ client: { signer: buyerAccount!.account, asset: chain.asset } })
    server = seller.services.x402Server
    // Answers after a pause that varies, so answers come back in another order than the requests went out.
    server.register('slow', {
      price: null,
      handler: async (req) => {
        await sleep(Number(str(req.body)))
        return text(`slow:${str(req.body)}`)
      }
    })
    server.register('paid', {
      price: { amount: PRICE },
      handler: (req, { signal }) => {
        if (cut.next) {
          // The buyer's session is reset once the payment is in: the answer cannot reach it on this stream.
          cut.next = false
          for (const c of seller.getConnections()) {
            for (const s of c.streams) if (s.protocol === X402_SESSION_PROTOCOL) s.abort(new Error('cut by the test'))
          }
        }
        signal.throwIfAborted()
        return text(`paid:${str(req.body)}`)
      }
    })
  })
  afterAll(async () => {
    await Promise.all([buyer?.stop(), seller?.stop(), small?.stop()])
    await chain?.stop()
  })

  it('runs many calls over one stream, interleaved: answers out of order, each to its own call', async () => {
    const delays = Array.from({ length: 24 }, (_, i) => ((i * 7) % 11) * 15)
    const results = await Promise.all(
      delays.map((ms) => buyer.services.x402Client.call(seller.getMultiaddrs(), 'slow', String(ms)))
    )
    expect(results.map((r) => str(r.body))).toEqual(delays.map((ms) => `slow:${ms}`))
    expect(results.every((r) => r.protocol === X402_SESSION_PROTOCOL)).toBe(true)
    // Paid calls go over it too (two-trip and one-trip), interleaved with the free ones.
    const payTo = chain.devnet.accounts[0]!.address
    const preemptive = server.requirements('paid')[0]!
    const paid = await Promise.all([
      buyer.services.x402Client.call(seller.getMultiaddrs(), 'paid', 'a', { maxAmount: PRICE, payTo }),
      buyer.services.x402Client.call(seller.getMultiaddrs(), 'slow', '40'),
      buyer.services.x402Client.call(seller.getMultiaddrs(), 'paid', 'b', { maxAmount: PRICE, payTo, preemptive })
    ])
    expect(paid.map((r) => str(r.body))).toEqual(['paid:a', 'slow:40', 'paid:b'])
    const x402 = streamsTo(buyer, seller).filter((s) => s.protocol.startsWith('/x402/'))
    expect(x402.map((s) => s.protocol)).toEqual([X402_SESSION_PROTOCOL])
  })

  it('a session reset mid-call: the paid call is re-asked on a new session and paid once', async () => {
    const [, buyerAccount] = chain.devnet.accounts
    const payTo = chain.devnet.accounts[0]!.address
    const before = await chain.balance(buyerAccount!.address)
    const sellerBefore = await chain.balance(payTo)
    const submitted: string[] = []
    const onSubmitted = (e: CustomEvent<{ transaction?: string }>) => submitted.push(String(e.detail.transaction))
    server.addEventListener('payment:submitted', onSubmitted)
    cut.next = true
    try {
      const r = await buyer.services.x402Client.call(seller.getMultiaddrs(), 'paid', 'again', {
        maxAmount: PRICE,
        payTo,
        correlationId: 'session-cut-1'
      })
      expect(str(r.body)).toBe('paid:again')
      expect(r.settlement?.success).toBe(true)
    } finally {
      server.removeEventListener('payment:submitted', onSubmitted)
    }
    expect(cut.next).toBe(false) // the cut happened
    expect(submitted).toHaveLength(1)
    expect(before - (await chain.balance(buyerAccount!.address))).toBe(PRICE)
    expect((await chain.balance(payTo)) - sellerBefore).toBe(PRICE)
  })

  it('per-session bound: exchanges beyond maxExchanges are answered RATE_LIMITED, those within it are served', async () => {
    const session = await rawSession(buyer, small)
    // Exactly the bound (3) in progress at once: all served.
    for (const id of ['a1', 'a2', 'a3']) await session.send(request(id, 'slow', '200'))
    // One more while they run: refused, at once, without touching the others.
    await session.send(request('a4', 'slow', '0'))
    const seen = new Map<string, WireMessage>()
    while (seen.size < 4) {
      const r = await session.read(5_000)
      if (r.kind !== 'frame') throw new Error(`session ${r.kind}`)
      seen.set(r.frame.correlationId, r.frame)
    }
    const a4 = seen.get('a4')
    expect(a4?.type === 'ERROR' && [a4.error.name, str(a4.error.details)]).toEqual([
      'RATE_LIMITED',
      expect.stringContaining('"reason":"session_full"')
    ])
    for (const id of ['a1', 'a2', 'a3']) expect(seen.get(id)?.type).toBe('RESPONSE')
    // Room again once they are done.
    await session.send(request('a5', 'slow', '0'))
    const r = await session.read(5_000)
    expect(r.kind === 'frame' && r.frame.type).toBe('RESPONSE')
    session.abort()
  })

  it('a buyer whose calls outnumber what a seller’s session takes spreads them over more sessions', async () => {
    const delays = Array.from({ length: 10 }, (_, i) => 50 + i * 10)
    const results = await Promise.all(
      delays.map((ms) => buyer.services.x402Client.call(small.getMultiaddrs(), 'slow', String(ms)))
    )
    expect(results.map((r) => str(r.body))).toEqual(delays.map((ms) => `slow:${ms}`))
    const sessions = streamsTo(buyer, small).filter((s) => s.protocol === X402_SESSION_PROTOCOL)
    expect(sessions.length).toBeGreaterThan(1)
    expect(sessions.length).toBeLessThanOrEqual(8)
  })

  it('a frame that cannot open an exchange (a RESPONSE, an id in progress) is INVALID_MESSAGE and ends the session; the exchange in progress still answers', async () => {
    const session = await rawSession(buyer, seller)
    await session.send(request('dup', 'slow', '300'))
    await session.send(request('dup', 'slow', '0'))
    const { frames, ended } = await framesUntilEnd(session)
    expect(ended).toBe(true)
    const names = frames.map((f) => (f.type === 'ERROR' ? f.error.name : f.type))
    expect(names).toEqual(['INVALID_MESSAGE', 'RESPONSE'])
    const other = await rawSession(buyer, seller)
    const response = { body: new Uint8Array(), final: true, settlement: new Uint8Array(), contentType: '' }
    await other.send({ type: 'RESPONSE', correlationId: 'nobody', response })
    const end = await framesUntilEnd(other)
    expect(end.ended).toBe(true)
    expect(end.frames.map((f) => f.type === 'ERROR' && [f.correlationId, f.error.name])).toEqual([
      ['nobody', 'INVALID_MESSAGE']
    ])
  })

  it('frames are bounded on a session too: one byte over the limit ends it, a frame at the limit is read', async () => {
    const max = DEFAULT_MAX_BODY_SIZE + FRAME_OVERHEAD
    const over = await rawSession(buyer, seller)
    await over.sendFrame(new Uint8Array(max + 1))
    const end = await framesUntilEnd(over)
    expect(end.ended).toBe(true)
    expect(end.frames.map((f) => f.type === 'ERROR' && f.error.name)).toEqual(['INVALID_MESSAGE'])
    // At the limit: read (and refused for what it says — zeros are no valid frame — not for its size).
    const at = await rawSession(buyer, seller)
    await at.sendFrame(new Uint8Array(max))
    const read = await framesUntilEnd(at)
    expect(read.frames.map((f) => f.type === 'ERROR' && f.error.message)).toEqual([
      expect.not.stringContaining('too large')
    ])
  })

  it('an idle session is closed by the seller; the next call opens another', async () => {
    const session = await rawSession(buyer, seller)
    const { ended, frames } = await framesUntilEnd(session, 6_000)
    expect(ended).toBe(true)
    expect(frames).toEqual([])
    const r = await buyer.services.x402Client.call(seller.getMultiaddrs(), 'slow', '0')
    expect(str(r.body)).toBe('slow:0')
  })
})

describe('sessions and peers without them (interoperability with /x402/libp2p/2.0.0)', () => {
  const nodes: X402Node[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()))
  })
  const free = (node: X402Node) =>
    node.services.x402Server.register('hello', { price: null, handler: (req) => text(`hello ${str(req.body)}`) })

  it('a buyer with sessions calls a seller without them over 2.0.0, a stream per call', async () => {
    const seller = await createNode({ server: { sessions: false } })
    const buyer = await createNode({})
    nodes.push(seller, buyer)
    free(seller)
    for (const who of ['a', 'b']) {
      const r = await buyer.services.x402Client.call(seller.getMultiaddrs(), 'hello', who)
      expect(r.protocol).toBe(X402_PROTOCOL)
      expect(str(r.body)).toBe(`hello ${who}`)
    }
  })

  it('a buyer without sessions calls a seller with them over 2.0.0', async () => {
    const seller = await createNode({})
    const buyer = await createNode({ client: { sessions: false } })
    nodes.push(seller, buyer)
    free(seller)
    const r = await buyer.services.x402Client.call(seller.getMultiaddrs(), 'hello', 'old')
    expect(r.protocol).toBe(X402_PROTOCOL)
  })
})

describe('a hostile seller on a session', () => {
  let seller: Libp2p
  let buyer: X402Node
  let behaviour: (session: SessionStream, frame: WireMessage) => Promise<void>

  beforeAll(async () => {
    seller = await createLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()]
    })
    await seller.handle(X402_SESSION_PROTOCOL, async (stream) => {
      const session = new SessionStream(stream, { maxBodySize: DEFAULT_MAX_BODY_SIZE })
      for (;;) {
        const frame = await session.read().catch(() => undefined)
        if (frame == null) break
        await behaviour(session, frame).catch(() => undefined)
      }
    })
    buyer = await createNode({})
  })
  afterAll(async () => {
    await Promise.all([buyer?.stop(), seller?.stop()])
  })

  const answer = (correlationId: string, body: string): WireMessage => ({
    type: 'RESPONSE',
    correlationId,
    response: { body: text(body), final: true, settlement: new Uint8Array(), contentType: '' }
  })

  it('frames for correlation ids nobody asked for are ignored; the call gets its own answer', async () => {
    behaviour = async (session, frame) => {
      for (let i = 0; i < 5; i++) await session.write(answer(`stranger-${i}`, 'not yours'))
      await session.write(answer(frame.correlationId, 'yours'))
    }
    const r = await buyer.services.x402Client.call(seller.getMultiaddrs(), 'anything', 'q')
    expect(str(r.body)).toBe('yours')
  })

  it('a stream of them ends the session: the call fails as a protocol violation', async () => {
    behaviour = async (session) => {
      for (let i = 0; i < 100; i++) await session.write(answer(`flood-${i}`, 'noise'))
    }
    await expect(
      buyer.services.x402Client.call(seller.getMultiaddrs(), 'anything', 'q', { signal: AbortSignal.timeout(10_000) })
    ).rejects.toMatchObject({ name: 'ProtocolViolationError' })
  })
})
