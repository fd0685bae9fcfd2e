/**
 * Our node and a Go-style peer (go-peer.ts: raw GossipSub and hand-written framing from the documented Go format)
 * exchange listings both ways on loopback; then hostile Go-format traffic: spoofed sellers, a forged delist of a signed
 * listing, oversized messages and replies, floods.
 */
import '../../../../tools/polyfills.ts'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Marketplace, marketplace } from '../../src/index.ts'
import { LegacyFrameError, LegacyInfoError, type LegacyMarketplace, legacyMarketplace } from '../../src/legacy/index.ts'
import { eventually, listingInput } from '../fixtures/nodes.ts'
import { createGoPeer, type GoPeer, goResponse, TOPIC } from './go-peer.ts'

type TsNode = Libp2p<{
  pubsub: ReturnType<ReturnType<typeof gossipsub>>
  market: Marketplace
  legacy: LegacyMarketplace
}>

const text = (b: Uint8Array) => new TextDecoder().decode(b)
const ADDRS = ['/ip4/127.0.0.1/tcp/4001', '/ip4/127.0.0.1/udp/4001/quic-v1']

async function createTsNode(): Promise<TsNode> {
  return (await createLibp2p({
    datastore: new MemoryDatastore(),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }),
      market: marketplace({ provide: false }),
      legacy: legacyMarketplace({
        announceIntervalMs: 500,
        maxListingsPerPeer: 5,
        announceBurst: 8,
        announceRefillMs: 60_000,
        maxInfoReplySize: 64 * 1024
      })
    }
  })) as unknown as TsNode
}

/** A Go CLI-style announcement, hand-written in Go's field order. */
function goAnnouncement(seller: string, agentId: string, extra: { type?: string; name?: string; price?: string } = {}) {
  return (
    `{"type":"${extra.type ?? 'list'}","agentId":"${agentId}","name":"${extra.name ?? 'math-agent'}","price":${extra.price ?? '0.001'},` +
    `"metadata":"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku","sellerId":"${seller}",` +
    `"addrs":["/ip4/127.0.0.1/tcp/4001"],"protocols":["/x402/libp2p/1.0.0"],"timestamp":${Math.floor(Date.now() / 1000)}}`
  )
}

/** Go's info reply element, hand-written. */
function goListing(seller: string, id: string) {
  return `{"id":"${id}","name":"pulled","price":0.5,"metadata":"","sellerId":"${seller}","timestamp":1711900000}`
}

async function meshed(a: GoPeer | TsNode, b: GoPeer | TsNode): Promise<void> {
  await a.dial(b.getMultiaddrs()[0]!)
  await eventually(
    () =>
      a.services.pubsub.getSubscribers(TOPIC).some((p) => p.equals(b.peerId)) &&
      b.services.pubsub.getSubscribers(TOPIC).some((p) => p.equals(a.peerId)),
    10_000,
    'topic subscriptions'
  )
}

describe('legacy bridge with a Go-style peer', () => {
  let ts: TsNode
  let go: GoPeer
  let mallory: GoPeer
  const THIRD = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'

  beforeAll(async () => {
    ts = await createTsNode()
    go = await createGoPeer()
    mallory = await createGoPeer()
    const goId = go.peerId.toString()
    // Go answers info with every listing it knows: its own, and one claiming a third seller.
    go.answer = (type) =>
      type === 'info'
        ? goResponse(`[${goListing(goId, `${goId}/did:key:z6MkPulled`)},${goListing(THIRD, 'did:key:z6MkForeign')}]`)
        : goResponse(`unknown message type: ${type}`)
    await meshed(go, ts)
    await meshed(mallory, ts)
  }, 30_000)

  afterAll(async () => {
    await Promise.all([ts?.stop(), go?.stop(), mallory?.stop()])
  })

  it('pulls info on connect and keeps only the responder’s own listings, unverified', async () => {
    const goId = go.peerId.toString()
    await eventually(() => ts.services.legacy.get(`${goId}/${goId}/did:key:z6MkPulled`) != null, 10_000, 'info pull')
    const pulled = ts.services.legacy.get(`${goId}/${goId}/did:key:z6MkPulled`)
    expect(pulled).toMatchObject({
      legacy: true,
      verified: false,
      source: 'info',
      seller: goId,
      resource: 'did:key:z6MkPulled'
    })
    expect(go.requests.some((r) => r.type === 'info' && r.data.length === 0)).toBe(true)
    expect(ts.services.legacy.list().some((l) => l.agentId === 'did:key:z6MkForeign')).toBe(false)
    expect(ts.services.legacy.rejected.seller).toBeGreaterThanOrEqual(1)
  })

  it('turns a Go announcement into an unverified legacy listing, never a signed one', async () => {
    const goId = go.peerId.toString()
    const did = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK'
    await go.announce(goAnnouncement(goId, did))
    await eventually(() => ts.services.legacy.get(`${goId}/${did}`) != null, 10_000, 'announcement')
    const listing = ts.services.legacy.get(`${goId}/${did}`)!
    expect(listing).toMatchObject({
      legacy: true,
      verified: false,
      source: 'announcement',
      name: 'math-agent',
      price: 0.001
    })
    expect(listing.priceAtomic).toBe(1_000n)
    expect(ts.services.market.find().some((l) => l.seller === goId)).toBe(false)
  })

  it('honours a delist from the listing’s own Go seller', async () => {
    const goId = go.peerId.toString()
    await go.announce(goAnnouncement(goId, 'did:key:z6MkGone'))
    await eventually(() => ts.services.legacy.get(`${goId}/did:key:z6MkGone`) != null, 10_000, 'announced')
    const removed = new Promise((resolve) =>
      ts.services.legacy.addEventListener('legacy:removed', resolve, { once: true })
    )
    await go.announce(goAnnouncement(goId, 'did:key:z6MkGone', { type: 'delist' }))
    await removed
    expect(ts.services.legacy.get(`${goId}/did:key:z6MkGone`)).toBeUndefined()
  })

  it('announces our listings to the Go peer in Go’s JSON, byte for byte, and answers its info pull', async () => {
    const self = ts.peerId.toString()
    const signed = await ts.services.market.publish(
      listingInput('summarizer', {
        resource: 'summarize',
        name: 'Summarizer',
        multiaddrs: [...ADDRS.slice(0, 1).map((a) => `${a}/p2p/${self}`), ADDRS[1]!],
        protocols: ['/x402/libp2p/2.0.0', '/x402/libp2p/1.0.0']
      })
    )
    // What Go's json.Marshal(AgentListingMessage) writes for this listing, written out by hand.
    const expected =
      `{"type":"list","agentId":"${self}/summarize","name":"Summarizer","price":0.01,"metadata":"","sellerId":"${self}",` +
      `"addrs":["/ip4/127.0.0.1/tcp/4001","/ip4/127.0.0.1/udp/4001/quic-v1"],"protocols":["/x402/libp2p/1.0.0"],` +
      `"timestamp":${Math.floor(signed.updatedAt / 1000)}}`
    await eventually(() => go.received.some((d) => text(d) === expected), 10_000, 'our announcement at the Go peer')
    // A listing not callable over 1.0.0 is not offered to Go buyers.
    await ts.services.market.publish(listingInput('v2-only', { protocols: ['/x402/libp2p/2.0.0'] }))

    const info = text(await go.pullInfo(ts.getMultiaddrs()[0]!))
    const goListingJson = expected.replace(`"type":"list","agentId"`, '"id"')
    expect(info).toBe(`[${goListingJson}]`)
    expect(text(await go.pullInfo(ts.getMultiaddrs()[0]!, 'order.create'))).toBe('unknown message type: order.create')
  })

  it('shows a Betar seller’s Go-format copies nowhere: its signed listings take precedence', async () => {
    const ts2 = await createTsNode()
    try {
      await meshed(ts2, ts)
      const seller = ts2.peerId.toString()
      await ts2.services.market.publish(
        listingInput('dual', { protocols: ['/x402/libp2p/2.0.0', '/x402/libp2p/1.0.0'] })
      )
      await eventually(() => ts.services.market.get(`${seller}/dual`) != null, 10_000, 'signed listing')
      // Its bridge keeps announcing the same listing in Go's format (every 500 ms here) and answers info with it.
      await ts2.services.legacy.announce()
      await ts.services.legacy.pull(ts2.peerId)
      await new Promise((r) => setTimeout(r, 1_200))
      expect(ts.services.legacy.list({ sellers: [seller] })).toEqual([])
    } finally {
      await ts2.stop()
    }
  })

  it('refuses a spoofed seller: the JSON sellerId must be the message signer', async () => {
    const before = ts.services.legacy.rejected.seller ?? 0
    await mallory.announce(goAnnouncement(THIRD, 'did:key:z6MkSpoof'))
    await mallory.announce(goAnnouncement(ts.peerId.toString(), `${ts.peerId}/summarize`, { price: '0' }))
    await eventually(() => (ts.services.legacy.rejected.seller ?? 0) >= before + 2, 10_000, 'spoofs refused')
    expect(ts.services.legacy.list().some((l) => l.agentId.includes('Spoof') || l.seller === THIRD)).toBe(false)
    expect(ts.services.legacy.list().some((l) => l.seller === ts.peerId.toString())).toBe(false)
    // Refused messages are not forwarded: the Go peer never sees them.
    await new Promise((r) => setTimeout(r, 300))
    expect(go.received.some((d) => text(d).includes('Spoof'))).toBe(false)
  })

  it('a hostile Go-format delist cannot remove a signed listing', async () => {
    const self = ts.peerId.toString()
    const key = `${self}/summarizer`
    expect(ts.services.market.get(key)).toBeDefined()
    const before = ts.services.legacy.rejected.seller ?? 0
    // Claiming to be us: refused.
    await mallory.announce(goAnnouncement(self, `${self}/summarize`, { type: 'delist' }))
    await mallory.announce(goAnnouncement(self, 'summarizer', { type: 'delist' }))
    await eventually(() => (ts.services.legacy.rejected.seller ?? 0) >= before + 2, 10_000, 'forged delists refused')
    // As itself: authentic, but it can only delist its own legacy listings.
    await mallory.announce(goAnnouncement(mallory.peerId.toString(), key, { type: 'delist' }))
    await new Promise((r) => setTimeout(r, 500))
    expect(ts.services.market.get(key)?.name).toBe('Summarizer')
  })

  it('refuses an oversized announcement before parsing it', async () => {
    const before = ts.services.legacy.rejected.size ?? 0
    const big = goAnnouncement(mallory.peerId.toString(), 'did:key:z6MkBig', { name: 'x'.repeat(20_000) })
    await mallory.announce(big)
    await eventually(() => (ts.services.legacy.rejected.size ?? 0) === before + 1, 10_000, 'oversize refused')
    expect(ts.services.legacy.list().some((l) => l.agentId === 'did:key:z6MkBig')).toBe(false)
  })

  it('bounds a flood: the per-peer announcement budget, then the per-seller quota', async () => {
    const flooder = await createGoPeer()
    try {
      await meshed(flooder, ts)
      const f = flooder.peerId.toString()
      const before = { rate: ts.services.legacy.rejected.rate ?? 0, quota: ts.services.legacy.rejected.quota ?? 0 }
      for (let i = 0; i < 40; i++) await flooder.announce(goAnnouncement(f, `did:key:z6MkFlood${i}`))
      // A burst of 8 passes the budget (the other 32 are ignored unread), and 5 of those fit the seller's quota.
      const rate = () => (ts.services.legacy.rejected.rate ?? 0) - before.rate
      const quota = () => (ts.services.legacy.rejected.quota ?? 0) - before.quota
      await eventually(() => rate() + quota() === 35, 10_000, 'flood bounded')
      expect({ rate: rate(), quota: quota() }).toEqual({ rate: 32, quota: 3 })
      expect(ts.services.legacy.list({ sellers: [f] })).toHaveLength(5)
    } finally {
      await flooder.stop()
    }
  })

  it('refuses an info reply over the size bound from its header, and Go’s plain-text error', async () => {
    mallory.answer = () => {
      const head = new Uint8Array(4)
      new DataView(head.buffer).setUint32(0, 2 * 1024 * 1024) // declares 2 MiB; sends nothing more
      return head
    }
    await expect(ts.services.legacy.pull(mallory.peerId)).rejects.toBeInstanceOf(LegacyFrameError)
    mallory.answer = () => goResponse('unknown message type: info')
    await expect(ts.services.legacy.pull(mallory.peerId)).rejects.toBeInstanceOf(LegacyInfoError)
    mallory.answer = () => goResponse('x'.repeat(64 * 1024 + 1)) // one byte over maxInfoReplySize
    await expect(ts.services.legacy.pull(mallory.peerId)).rejects.toBeInstanceOf(LegacyFrameError)
    mallory.answer = () => goResponse(`[${goListing(mallory.peerId.toString(), 'did:key:z6MkOk')}]`)
    expect((await ts.services.legacy.pull(mallory.peerId)).map((l) => l.agentId)).toEqual(['did:key:z6MkOk'])
  })
  it('serving info: refuses oversized or malformed requests from their header, and rate-limits each peer', async () => {
    const ask = async (peer: GoPeer, frame: Uint8Array): Promise<Uint8Array> => {
      const stream = await peer.dialProtocol(ts.getMultiaddrs()[0]!, '/betar/marketplace/1.0.0')
      const chunks: Uint8Array[] = []
      try {
        stream.send(frame)
        for await (const c of stream) chunks.push(c instanceof Uint8Array ? c : c.subarray())
      } catch {
        // refused: reset by the server
      }
      return Buffer.concat(chunks)
    }
    const peer = await createGoPeer()
    try {
      // type_len 0, type_len 129, data_len 2 MiB: no answer, the stream is aborted.
      expect(await ask(peer, Uint8Array.from([0, 0, 0, 0, 0, 0]))).toHaveLength(0)
      expect(await ask(peer, Uint8Array.from([0, 129, ...new Uint8Array(129).fill(0x61)]))).toHaveLength(0)
      expect(await ask(peer, Uint8Array.from([0, 4, 0x69, 0x6e, 0x66, 0x6f, 0, 0x20, 0, 0]))).toHaveLength(0)
      // The fourth request is answered ([u32 length][JSON array]); then its burst of 4 is spent.
      const answer = Buffer.from(await ask(peer, Uint8Array.from([0, 4, 0x69, 0x6e, 0x66, 0x6f, 0, 0, 0, 0])))
      expect(answer.readUInt32BE(0)).toBe(answer.length - 4)
      expect(Array.isArray(JSON.parse(answer.subarray(4).toString()))).toBe(true)
      expect(await ask(peer, Uint8Array.from([0, 4, 0x69, 0x6e, 0x66, 0x6f, 0, 0, 0, 0]))).toHaveLength(0)
    } finally {
      await peer.stop()
    }
  })
})
