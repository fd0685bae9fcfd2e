import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { LevelDatastore } from 'datastore-level'
import { toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Channel } from '../src/channel.ts'
import { signExactPayment } from '../src/client/sign.ts'
import { X402_PROTOCOL } from '../src/index.ts'
import { jsonBytes } from '../src/json.ts'
import { type Chain, startChain } from './fixtures/chain.ts'
import { createNode, type X402Node } from './fixtures/nodes.ts'

const PRICE = 40_000n
const text = (s: string) => new TextEncoder().encode(s)
const str = (b: Uint8Array) => new TextDecoder().decode(b)

/** A seller whose key and LevelDB datastore live on disk, so it can be killed and started again. */
async function startSeller(
  chain: Chain,
  dir: string,
  key: PrivateKey,
  hang: { first: boolean }
): Promise<{ node: X402Node; datastore: LevelDatastore }> {
  const datastore = new LevelDatastore(join(dir, 'datastore'))
  await datastore.open()
  const node = await createNode({
    privateKey: key,
    datastore,
    server: { settler: chain.settlerFor(chain.devnet.accounts[0]!), asset: chain.asset, frameTimeoutMs: 3000 }
  })
  node.services.x402Server.register('slow', {
    price: { amount: PRICE },
    handler: async (req, { signal }) => {
      if (hang.first) {
        hang.first = false
        // First run: never finish — the node is killed while the paid call is in the handler.
        await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
      }
      return text(`done:${str(req.body)}`)
    }
  })
  return { node, datastore }
}

describe('persistence across a seller restart (LevelDB)', () => {
  let chain: Chain
  let dir: string
  let key: PrivateKey
  let buyer: X402Node

  beforeAll(async () => {
    chain = await startChain()
    dir = await mkdtemp(join(tmpdir(), 'betar-x402-'))
    key = await generateKeyPair('Ed25519')
    buyer = await createNode({
      client: { signer: chain.devnet.accounts[1]!.account, asset: chain.asset, reaskAttempts: 1, reaskDelayMs: 50 }
    })
  })
  afterAll(async () => {
    await buyer?.stop()
    await chain?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  const sellerWallet = () => chain.devnet.accounts[0]!.address
  const buyerWallet = () => chain.devnet.accounts[1]!.address

  it('a seller killed after settlement delivers the result after restart, with no second charge', async () => {
    const hang = { first: true }
    let seller = await startSeller(chain, dir, key, hang)
    const before = { buyer: await chain.balance(buyerWallet()), seller: await chain.balance(sellerWallet()) }
    const correlationId = 'crash-after-settle-1'
    const settled = new Promise((resolve) =>
      seller.node.services.x402Server.addEventListener('payment:settled', resolve, { once: true })
    )

    const first = buyer.services.x402Client
      .call(seller.node.getMultiaddrs(), 'slow', text('job'), {
        maxAmount: PRICE,
        payTo: sellerWallet(),
        correlationId
      })
      .catch((e: unknown) => e)
    await settled
    await seller.node.stop() // killed mid-handler, after the transfer confirmed
    await seller.datastore.close()
    const interrupted = await first
    expect(interrupted).toMatchObject({ name: 'PaymentInterruptedError', correlationId })
    expect(await chain.balance(buyerWallet())).toBe(before.buyer - PRICE)

    seller = await startSeller(chain, dir, key, hang)
    try {
      // Same correlation id: the client re-sends the same signed payment; the seller runs the call from its record.
      const r = await buyer.services.x402Client.call(seller.node.getMultiaddrs(), 'slow', text('job'), {
        maxAmount: PRICE,
        payTo: sellerWallet(),
        correlationId
      })
      expect(str(r.body)).toBe('done:job')
      expect(r.settlement?.success).toBe(true)
      expect(await chain.balance(buyerWallet())).toBe(before.buyer - PRICE)
      expect(await chain.balance(sellerWallet())).toBe(before.seller + PRICE)
    } finally {
      await seller.node.stop()
      await seller.datastore.close()
    }
  })

  it('rejects a replayed payment after a restart from its persistent nonce store, before touching the chain', async () => {
    const hang = { first: false }
    let seller = await startSeller(chain, dir, key, hang)
    const requirements = seller.node.services.x402Server.requirements('slow')[0]!
    const payload = await signExactPayment(
      chain.devnet.accounts[2]!.account,
      requirements,
      toHex(crypto.getRandomValues(new Uint8Array(32)))
    )
    const paid = (correlationId: string) => ({
      type: 'PAID_REQUEST' as const,
      correlationId,
      request: { resource: 'slow', body: text('r'), contentType: '', payment: jsonBytes(payload) }
    })
    const send = async (node: X402Node, correlationId: string) => {
      const stream = await buyer.dialProtocol(node.getMultiaddrs(), X402_PROTOCOL)
      const channel = new Channel(stream, { maxBodySize: 1 << 20, frameTimeoutMs: 10_000 })
      await channel.write(paid(correlationId))
      return channel.read()
    }
    const ok = await send(seller.node, 'replay-original')
    expect(ok.type).toBe('RESPONSE')
    await seller.node.stop()
    await seller.datastore.close()

    seller = await startSeller(chain, dir, key, hang)
    try {
      const replay = await send(seller.node, 'replay-copy')
      if (replay.type !== 'ERROR') throw new Error(`expected an ERROR frame, got ${replay.type}`)
      expect(replay.error).toMatchObject({ code: 2004, name: 'NONCE_USED', retryable: false })
      expect(replay.error.message).toBe('this authorization was already presented')
    } finally {
      await seller.node.stop()
      await seller.datastore.close()
    }
  })
})
