import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { X402_PROTOCOL_V1, X402_SESSION_PROTOCOL, X402Error } from '../src/index.ts'
import { type Chain, startChain } from './fixtures/chain.ts'
import { createNode, type X402Node } from './fixtures/nodes.ts'

const PRICE = 25_000n
const text = (s: string) => new TextEncoder().encode(s)
const str = (b: Uint8Array) => new TextDecoder().decode(b)

describe('/x402/libp2p/1.0.0 (Go prototype wire format) between TypeScript nodes', () => {
  let chain: Chain
  let seller: X402Node
  let goStyleBuyer: X402Node
  let modernBuyer: X402Node

  beforeAll(async () => {
    chain = await startChain()
    const [sellerAccount, buyerAccount] = chain.devnet.accounts
    seller = await createNode({ server: { settler: chain.settlerFor(sellerAccount!), asset: chain.asset } })
    goStyleBuyer = await createNode({
      client: { signer: buyerAccount!.account, asset: chain.asset, versions: ['1.0.0'] }
    })
    modernBuyer = await createNode({ client: { signer: buyerAccount!.account, asset: chain.asset } })
    seller.services.x402Server.register('summarize', {
      price: { amount: PRICE },
      handler: (req) => text(`summary of <${str(req.body)}>`)
    })
    seller.services.x402Server.register('hello', { price: null, handler: (req) => text(`hello ${str(req.body)}`) })
  })
  afterAll(async () => {
    await Promise.all([goStyleBuyer?.stop(), modernBuyer?.stop(), seller?.stop()])
    await chain?.stop()
  })

  const sellerWallet = () => chain.devnet.accounts[0]!.address

  it('negotiates 2.x first when both sides speak it (a 2.1.0 session)', async () => {
    const r = await modernBuyer.services.x402Client.call(seller.getMultiaddrs(), 'hello', text('there'))
    expect(r.protocol).toBe(X402_SESSION_PROTOCOL)
  })

  it('serves a free call over 1.0.0', async () => {
    const r = await goStyleBuyer.services.x402Client.call(seller.getMultiaddrs(), 'hello', text('go'))
    expect(r.protocol).toBe(X402_PROTOCOL_V1)
    expect(str(r.body)).toBe('hello go')
  })

  it('pays over 1.0.0 in two streams (Go flow) and moves USDC on-chain', async () => {
    const before = await chain.balance(sellerWallet())
    const r = await goStyleBuyer.services.x402Client.call(seller.getMultiaddrs(), 'summarize', text('a & b'), {
      maxAmount: PRICE,
      payTo: sellerWallet()
    })
    expect(r.protocol).toBe(X402_PROTOCOL_V1)
    expect(str(r.body)).toBe('summary of <a & b>')
    expect(r.settlement?.transaction).toMatch(/^0x[0-9a-f]{64}$/)
    expect(await chain.balance(sellerWallet())).toBe(before + PRICE)
  })

  it('pays preemptively over 1.0.0 (server_nonce "preemptive")', async () => {
    const [requirements] = seller.services.x402Server.requirements('summarize')
    const before = await chain.balance(sellerWallet())
    const r = await goStyleBuyer.services.x402Client.call(seller.getMultiaddrs(), 'summarize', text('x'), {
      maxAmount: PRICE,
      payTo: sellerWallet(),
      preemptive: requirements!
    })
    expect(str(r.body)).toBe('summary of <x>')
    expect(await chain.balance(sellerWallet())).toBe(before + PRICE)
  })

  it('reports unknown resources with the Go error code 1001', async () => {
    const err = await goStyleBuyer.services.x402Client
      .call(seller.getMultiaddrs(), 'nope', text(''))
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(X402Error)
    expect(err).toMatchObject({ code: 1001, codeName: 'UNKNOWN_RESOURCE' })
  })

  it('refuses non-UTF-8 bodies on 1.0.0, which carries text', async () => {
    const err = await goStyleBuyer.services.x402Client
      .call(seller.getMultiaddrs(), 'hello', new Uint8Array([0xff, 0xfe]))
      .catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'ProtocolViolationError' })
  })
})
