import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { canonical, clientIdOf, LISTINGS_MAP } from '../src/index.ts'
import { createMarketNode, eventually, listingInput, type MarketNode } from './fixtures/nodes.ts'

// The current epoch's topic (epochs are 24 h by default).
const TOPIC = `betar/marketplace/crdt/1/${Math.floor(Date.now() / 86_400_000)}`
const stops: Array<() => unknown> = []
afterEach(async () => {
  await Promise.all(stops.splice(0).map((s) => s()))
})

/** A bare GossipSub node: no marketplace, no validator. It can send anything and accepts anything it is sent. */
async function rawPeer() {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
  })
  stops.push(() => node.stop())
  node.services.pubsub.subscribe(TOPIC)
  const received: Uint8Array[] = []
  node.services.pubsub.addEventListener('message', (e) => {
    if (e.detail.topic === TOPIC) received.push(e.detail.data)
  })
  return { node, received }
}

describe('a hostile peer on the GossipSub topic', () => {
  it('cannot overwrite, delete or corrupt a listing; honest nodes reject, do not forward, and stay up', async () => {
    const seller: MarketNode = await createMarketNode()
    const honest: MarketNode = await createMarketNode()
    stops.push(
      () => seller.stop(),
      () => honest.stop()
    )
    const attacker = await rawPeer()
    const observer = await rawPeer() // connected only through the honest node
    await honest.dial(seller.getMultiaddrs())
    await attacker.node.dial(honest.getMultiaddrs())
    await observer.node.dial(honest.getMultiaddrs())
    await eventually(() => honest.services.pubsub.getSubscribers(TOPIC).length >= 3, 5_000, 'mesh')
    await eventually(() => attacker.node.services.pubsub.getSubscribers(TOPIC).length >= 1, 5_000, 'attacker mesh')
    const mesh = honest.services.pubsub as unknown as { getMeshPeers(topic: string): string[] }
    await eventually(
      () => mesh.getMeshPeers(TOPIC).length >= 3,
      10_000,
      'honest mesh with seller, attacker and observer'
    )

    await seller.services.market.publish(listingInput('victim'))
    const key = `${seller.peerId}/victim`
    await eventually(() => honest.services.market.get(key) != null, 5_000, 'listing')
    await eventually(() => observer.received.length >= 1, 5_000, 'observer sees honest traffic')
    const seen = observer.received.length
    const original = honest.services.market.get(key)

    // Craft attacks against the honest node's current state.
    const service = honest.services.market as unknown as {
      market: { epochOf(): number; doc(epoch: number): { diff(): Uint8Array } }
      topicOf(epoch: number): string
    }
    const epoch = service.market.epochOf()
    const state = service.market.doc(epoch).diff()
    const craft = (clientId: number, write: (m: Y.Map<Uint8Array>) => void): Uint8Array => {
      const doc = new Y.Doc()
      Y.applyUpdate(doc, state)
      doc.clientID = clientId
      const sv = Y.encodeStateVector(doc)
      write(doc.getMap<Uint8Array>(LISTINGS_MAP))
      return Y.encodeStateAsUpdate(doc, sv)
    }
    const current = (() => {
      const d = new Y.Doc()
      Y.applyUpdate(d, state)
      return d.getMap<Uint8Array>(LISTINGS_MAP).get(key)!
    })()
    const envelope = JSON.parse(new TextDecoder().decode(current))
    const payload = JSON.parse(envelope.p)
    payload.updatedAt += 1
    payload.price.payTo = '0x000000000000000000000000000000000000dEaD'
    envelope.p = canonical(payload)
    const attacks = [
      craft(clientIdOf(attacker.node.peerId.toString()), (m) => m.set(key, new Uint8Array([1, 2, 3]))), // overwrite
      craft(clientIdOf(attacker.node.peerId.toString()), (m) => m.delete(key)), // delete
      craft(clientIdOf(seller.peerId.toString()), (m) =>
        m.set(key, new TextEncoder().encode(JSON.stringify(envelope)))
      ), // new payTo, bad signature
      craft(clientIdOf(seller.peerId.toString()), (m) => m.set(key, current)), // replay of the current version
      new Uint8Array(2 * 1024 * 1024).fill(7), // oversized
      crypto.getRandomValues(new Uint8Array(300)) // garbage
    ]
    for (const attack of attacks) await attacker.node.services.pubsub.publish(TOPIC, attack).catch(() => undefined)
    await new Promise((r) => setTimeout(r, 500))

    expect(honest.services.market.get(key)).toEqual(original)
    expect(seller.services.market.get(key)).toEqual(original)
    expect(observer.received.length).toBe(seen) // nothing forwarded
    // The honest node is still fully functional.
    await seller.services.market.publish(listingInput('victim', { name: 'still here' }))
    await eventually(
      () => honest.services.market.get(key)?.name === 'still here',
      5_000,
      'honest update after the attack'
    )
  })
})
