import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InvalidCallBodyError, PaymentNotApprovedError } from '../src/index.ts'
import { type Chain, startChain } from './fixtures/chain.ts'
import { createNode, type Transport, type X402Node } from './fixtures/nodes.ts'

const PRICE = 10_000n // 0.01 USDC
const text = (s: string) => new TextEncoder().encode(s)
const str = (b: Uint8Array) => new TextDecoder().decode(b)

for (const transport of ['tcp', 'quic'] as Transport[]) {
  describe(`paid calls over ${transport}`, () => {
    let chain: Chain
    let seller: X402Node
    let buyer: X402Node

    beforeAll(async () => {
      chain = await startChain()
      const [sellerAccount, buyerAccount] = chain.devnet.accounts
      if (sellerAccount == null || buyerAccount == null) throw new Error('accounts')
      seller = await createNode({ transport, server: { settler: chain.settlerFor(sellerAccount), asset: chain.asset } })
      buyer = await createNode({ transport, client: { signer: buyerAccount.account, asset: chain.asset } })
      seller.services.x402Server.register('echo', {
        price: { amount: PRICE },
        description: 'echoes its input',
        handler: (req) => text(`echo:${str(req.body)}`)
      })
      seller.services.x402Server.register('free', { price: null, handler: () => text('gratis') })
      seller.services.x402Server.register('stream', {
        price: null,
        handler: async function* () {
          for (let i = 0; i < 3; i++) yield text(`chunk${i};`)
          yield new Uint8Array(300 * 1024).fill(120) // bigger than one frame: split on the wire
        }
      })
      seller.services.x402Server.register('paid-stream', {
        price: { amount: PRICE },
        handler: async function* (req) {
          yield text('paid:')
          yield req.body
        }
      })
    })
    afterAll(async () => {
      await buyer?.stop()
      await seller?.stop()
      await chain?.stop()
    })

    const sellerWallet = () => chain.devnet.accounts[0]!.address
    const buyerWallet = () => chain.devnet.accounts[1]!.address

    it('serves a free resource without payment', async () => {
      const r = await buyer.services.x402Client.call(seller.getMultiaddrs(), 'free', new Uint8Array())
      expect(str(r.body)).toBe('gratis')
      expect(r.amount).toBe(0n)
      expect(r.settlement).toBeUndefined()
    })

    it("streams a free handler's chunks, splitting large ones across frames", async () => {
      const r = await buyer.services.x402Client.call(seller.getMultiaddrs(), 'stream', new Uint8Array())
      expect(r.body.byteLength).toBe(3 * 'chunkN;'.length + 300 * 1024)
      expect(str(r.body.subarray(0, 21))).toBe('chunk0;chunk1;chunk2;')
    })

    it('collects a paid streaming handler before storing and sending it', async () => {
      const r = await buyer.services.x402Client.call(seller.getMultiaddrs(), 'paid-stream', text('abc'), {
        maxAmount: PRICE,
        payTo: sellerWallet()
      })
      expect(str(r.body)).toBe('paid:abc')
      expect(r.settlement?.success).toBe(true)
    })

    it('pays in two trips (challenge nonce) and gets the result; USDC moves on-chain', async () => {
      const before = { seller: await chain.balance(sellerWallet()), buyer: await chain.balance(buyerWallet()) }
      const r = await buyer.services.x402Client.call(seller.getMultiaddrs(), 'echo', text('hi'), {
        maxAmount: PRICE,
        payTo: sellerWallet()
      })
      expect(str(r.body)).toBe('echo:hi')
      expect(r.amount).toBe(PRICE)
      expect(r.settlement).toMatchObject({ success: true, network: 'eip155:31337' })
      const receipt = await chain.client.getTransactionReceipt({ hash: r.settlement!.transaction as `0x${string}` })
      expect(receipt.status).toBe('success')
      expect(await chain.balance(sellerWallet())).toBe(before.seller + PRICE)
      expect(await chain.balance(buyerWallet())).toBe(before.buyer - PRICE)
    })

    it('pays in one trip with requirements it already holds (client nonce)', async () => {
      const [requirements] = seller.services.x402Server.requirements('echo')
      const before = await chain.balance(sellerWallet())
      const r = await buyer.services.x402Client.call(seller.getMultiaddrs(), 'echo', text('fast'), {
        maxAmount: PRICE,
        payTo: sellerWallet(),
        preemptive: requirements!
      })
      expect(str(r.body)).toBe('echo:fast')
      expect(await chain.balance(sellerWallet())).toBe(before + PRICE)
    })

    it('sends a string body as its UTF-8 encoding and pays for it (issue 16: it used to arrive empty)', async () => {
      const r = await buyer.services.x402Client.call(seller.getMultiaddrs(), 'echo', 'héllo ✓', {
        maxAmount: PRICE,
        payTo: sellerWallet()
      })
      expect(str(r.body)).toBe('echo:héllo ✓')
      expect(r.settlement?.success).toBe(true)
    })

    it('refuses a body that is neither bytes nor a string before dialling or signing', async () => {
      const before = await chain.balance(buyerWallet())
      for (const body of [{ text: 'hi' }, 42, null, undefined, ['a']]) {
        const err = await buyer.services.x402Client
          .call(seller.getMultiaddrs(), 'echo', body as unknown as string, { maxAmount: PRICE, payTo: sellerWallet() })
          .catch((e: unknown) => e)
        expect(err).toBeInstanceOf(InvalidCallBodyError)
        expect(err).toBeInstanceOf(TypeError)
      }
      expect(await chain.balance(buyerWallet())).toBe(before)
    })

    it('refuses to sign more than the caller approved, and nothing moves', async () => {
      const before = await chain.balance(buyerWallet())
      const err = await buyer.services.x402Client
        .call(seller.getMultiaddrs(), 'echo', text('x'), { maxAmount: PRICE - 1n, payTo: sellerWallet() })
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(PaymentNotApprovedError)
      expect((err as PaymentNotApprovedError).violations.join()).toMatch(/exceeds the approved 9999/)
      expect(await chain.balance(buyerWallet())).toBe(before)
    })

    it('refuses to pay a payee other than the expected one', async () => {
      const err = await buyer.services.x402Client
        .call(seller.getMultiaddrs(), 'echo', text('x'), { maxAmount: PRICE, payTo: chain.devnet.accounts[2]!.address })
        .catch((e: unknown) => e)
      expect(err).toMatchObject({ name: 'PaymentNotApprovedError' })
      expect((err as PaymentNotApprovedError).violations.join()).toMatch(/not the expected payee/)
    })
  })
}
