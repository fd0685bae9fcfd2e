/**
 * The Go marketplace bridge in the full node (`legacy: true` / `betar start --legacy`): a Go-style peer (raw GossipSub
 * and hand-written Go framing, see packages/marketplace-crdt/test/legacy/go-peer.ts) sees the agent this node sells in
 * Go's format, and its own listing shows up in GET /listings under `legacy`, apart from the signed listings.
 */
import { type Devnet, usdcAbi } from '@betar/devnet'
import {
  type BetarNode,
  buyLegacy,
  LegacyNotAcceptedError,
  LegacyPurchaseRefusedError,
  paymentAsset,
  type SoldAgent,
  sellAgent
} from '@betar/node'
import { localSettler, X402_PROTOCOL, X402_SESSION_PROTOCOL, x402Server } from '@betar/x402-libp2p'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p, type Libp2p } from 'libp2p'
import { createPublicClient, createWalletClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGoPeer, type GoPeer, TOPIC } from '../../../packages/marketplace-crdt/test/legacy/go-peer.ts'
import { eventually, nodeOn, startDevnet, textStatsAgent } from '../../../packages/node/test/fixtures.ts'
import { createApi, createApiToken, type RunningApi, startApi } from '../src/api/index.ts'

const text = (b: Uint8Array) => new TextDecoder().decode(b)

describe('full node with the Go marketplace bridge', () => {
  let devnet: Devnet
  let node: BetarNode
  let plain: BetarNode
  let go: GoPeer
  let sold: SoldAgent
  let api: RunningApi
  const token = createApiToken()
  const listings = async (a: RunningApi = api) => {
    const res = await fetch(`${a.url}/listings`, { headers: { authorization: `Bearer ${token}` } })
    expect(res.status).toBe(200)
    return (await res.json()) as { listings: Array<{ seller: string }>; legacy?: Array<Record<string, unknown>> }
  }

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 2 })
    node = await nodeOn(devnet, 0, { legacy: { announceIntervalMs: 500 } })
    plain = await nodeOn(devnet, 0)
    sold = await sellAgent(node, textStatsAgent)
    api = await startApi(createApi(node, { token }))
    go = await createGoPeer()
    await go.dial(node.multiaddrs()[0]!)
    await eventually(
      () => node.services.pubsub.getSubscribers(TOPIC).some((p) => p.equals(go.peerId)),
      10_000,
      'the Go peer on the topic'
    )
  }, 60_000)

  afterAll(async () => {
    await api?.close()
    await go?.stop()
    await plain?.stop()
    await node?.stop()
    await devnet?.stop()
  })

  it('offers the agent it sells to Go peers in Go’s listing format', async () => {
    const agentId = `${node.peerId}/${sold.resource}`
    await eventually(() => go.received.some((d) => text(d).includes(`"agentId":"${agentId}"`)), 10_000, 'announcement')
    const json = JSON.parse(text(go.received.find((d) => text(d).includes(agentId))!)) as Record<string, unknown>
    expect(json).toMatchObject({
      type: 'list',
      agentId,
      sellerId: node.peerId,
      price: 0.25,
      protocols: ['/x402/libp2p/1.0.0']
    })
    expect(Object.keys(json).slice(0, 6)).toEqual(['type', 'agentId', 'name', 'price', 'metadata', 'sellerId'])
  })

  it('shows a Go listing in GET /listings as legacy: true, apart from the signed listings', async () => {
    const goId = go.peerId.toString()
    await go.announce(
      `{"type":"list","agentId":"${goId}/did:key:z6MkGoAgent","name":"go-agent","price":0.001,"metadata":"",` +
        `"sellerId":"${goId}","protocols":["/x402/libp2p/1.0.0"],"timestamp":${Math.floor(Date.now() / 1000)}}`
    )
    await eventually(() => node.services.legacy?.list().length === 1, 10_000, 'legacy listing')
    const body = await listings()
    expect(body.legacy).toEqual([
      expect.objectContaining({
        legacy: true,
        verified: false,
        seller: goId,
        name: 'go-agent',
        resource: 'did:key:z6MkGoAgent',
        priceAtomic: '1000',
        priceUsdc: '0.001'
      })
    ])
    expect(body.listings.some((l) => l.seller === goId)).toBe(false)
    expect(body.listings.some((l) => l.seller === node.peerId)).toBe(true)
  })

  it('leaves GET /listings unchanged on a node without the bridge', async () => {
    const plainApi = await startApi(createApi(plain, { token }))
    try {
      expect((await listings(plainApi)).legacy).toBeUndefined()
    } finally {
      await plainApi.close()
    }
    expect(plain.services.legacy).toBeUndefined()
  })
})

/**
 * A Go-like seller: announces a hand-written Go listing and serves x402 on `/x402/libp2p/1.0.0` only (2.0.0 and 2.1.0
 * are unhandled, as on a Go node), settling to devnet account 1.
 */
describe('buying a legacy listing', () => {
  let devnet: Devnet
  let buyer: BetarNode
  let seller: Libp2p<{
    pubsub: ReturnType<ReturnType<typeof gossipsub>>
    x402: ReturnType<ReturnType<typeof x402Server>>
  }>
  let payee: `0x${string}`
  const balance = (address: `0x${string}`) =>
    buyer.clients.publicClient.readContract({
      address: devnet.network.usdc.address,
      abi: usdcAbi,
      functionName: 'balanceOf',
      args: [address]
    })
  const key = (resource: string) => `${seller.peerId}/${seller.peerId}/${resource}`

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 2 })
    const account = devnet.accounts[1]!
    payee = account.address
    const transport = http(devnet.rpcUrl)
    seller = (await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }),
        x402: x402Server({
          settler: localSettler({
            walletClient: createWalletClient({ account: account.account, chain: devnet.chain, transport }),
            publicClient: createPublicClient({ chain: devnet.chain, transport })
          }),
          asset: paymentAsset(devnet.network)
        })
      }
    })) as unknown as typeof seller
    // Only 1.0.0, as on a Go node: neither 2.0.0 nor the 2.1.0 sessions.
    await seller.unhandle(X402_PROTOCOL)
    await seller.unhandle(X402_SESSION_PROTOCOL)
    seller.services.pubsub.subscribe(TOPIC)
    const echo = (req: { body: Uint8Array }) => new TextEncoder().encode(`echo:${new TextDecoder().decode(req.body)}`)
    seller.services.x402.register('did:key:z6MkEcho', { price: { amount: 250_000n }, handler: echo })
    seller.services.x402.register('did:key:z6MkGreedy', { price: { amount: 900_000n }, handler: echo })
    buyer = await nodeOn(devnet, 0, { legacy: true })
    await buyer.dial(seller.getMultiaddrs())
    await eventually(
      () =>
        buyer.services.pubsub.getSubscribers(TOPIC).some((p) => p.equals(seller.peerId)) &&
        seller.services.pubsub.getSubscribers(TOPIC).some((p) => p.equals(buyer.libp2p.peerId)),
      10_000,
      'topic'
    )
    const addr = seller.getMultiaddrs()[0]!.toString().replace(`/p2p/${seller.peerId}`, '')
    for (const resource of ['did:key:z6MkEcho', 'did:key:z6MkGreedy']) {
      // Both listed at 0.25 USDC; the greedy one then asks 0.9.
      await seller.services.pubsub.publish(
        TOPIC,
        new TextEncoder().encode(
          `{"type":"list","agentId":"${seller.peerId}/${resource}","name":"go-echo","price":0.25,"metadata":"",` +
            `"sellerId":"${seller.peerId}","addrs":["${addr}"],"protocols":["/x402/libp2p/1.0.0"],` +
            `"timestamp":${Math.floor(Date.now() / 1000)}}`
        )
      )
    }
    await eventually(() => buyer.services.legacy?.list().length === 2, 10_000, 'legacy listings')
  }, 60_000)

  afterAll(async () => {
    await buyer?.stop()
    await seller?.stop()
    await devnet?.stop()
  })

  it('a buyer without the opt-in never pays it', async () => {
    const before = await balance(payee)
    await expect(
      buyLegacy(buyer, key('did:key:z6MkEcho'), 'hi', { maxPrice: 1_000_000n, payTo: payee })
    ).rejects.toBeInstanceOf(LegacyNotAcceptedError)
    expect(await buyer.journal.list({ limit: 10 })).toEqual([])
    expect(await balance(payee)).toBe(before)
  })

  it('refuses without a payee, or over the price cap, before signing', async () => {
    await expect(
      buyLegacy(buyer, key('did:key:z6MkEcho'), 'hi', { acceptUnverified: true, maxPrice: 1_000_000n })
    ).rejects.toBeInstanceOf(LegacyPurchaseRefusedError)
    await expect(
      buyLegacy(buyer, key('did:key:z6MkEcho'), 'hi', { acceptUnverified: true, maxPrice: 100_000n, payTo: payee })
    ).rejects.toBeInstanceOf(LegacyPurchaseRefusedError)
    expect(await buyer.journal.list({ limit: 10 })).toEqual([])
  })

  it('refuses a seller asking more than it listed', async () => {
    const before = await balance(payee)
    const err = await buyLegacy(buyer, key('did:key:z6MkGreedy'), 'hi', {
      acceptUnverified: true,
      maxPrice: 1_000_000n,
      payTo: payee
    }).catch((e: unknown) => e)
    expect((err as Error).name).toBe('PaymentNotApprovedError')
    expect(await balance(payee)).toBe(before)
  })

  it('with the opt-in, pays the listed price to the given payee over /x402/libp2p/1.0.0', async () => {
    const before = await balance(payee)
    const result = await buyLegacy(buyer, key('did:key:z6MkEcho'), 'hello', {
      acceptUnverified: true,
      maxPrice: 1_000_000n,
      payTo: payee
    })
    expect(new TextDecoder().decode(result.body)).toBe('echo:hello')
    expect(result.protocol).toBe('/x402/libp2p/1.0.0')
    expect(result.amount).toBe(250_000n)
    expect(await balance(payee)).toBe(before + 250_000n)
  })
})
