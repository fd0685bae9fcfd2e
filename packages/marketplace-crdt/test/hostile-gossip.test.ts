import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { clientIdOf, entryClientId } from '../src/core/client-id.ts'
import { listingKey } from '../src/core/listing.ts'
import type { MarketplaceDoc } from '../src/core/marketplace-doc.ts'
import { createMarketNode, eventually, listingInput, type MarketNode } from './fixtures/nodes.ts'
import { gcBomb, rootTypeSpam, subdocBomb, tinyStructBomb } from './helpers/bombs.ts'
import { probeQuery } from './helpers/stall.ts'
import { encodeRawUpdate, firstEntry } from './helpers/yjs-raw.ts'

/*
 * A hostile GossipSub peer — no marketplace, no validator — publishes hand-encoded Yjs updates on an epoch topic to a
 * real marketplace node (issue 12, cases 1 and 3, at the network layer).
 */

const stops: Array<() => unknown> = []
afterEach(async () => {
  await Promise.all(stops.splice(0).map((s) => s()))
})

interface Internals {
  market: { epochOf(): number; doc(epoch: number): MarketplaceDoc }
  topicOf(epoch: number): string
}
const internals = (n: MarketNode) => n.services.market as unknown as Internals

async function node(): Promise<MarketNode> {
  const n = await createMarketNode({ market: { provide: false } })
  stops.push(() => n.stop())
  return n
}

async function rawPeer(topic: string) {
  const peer = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
  })
  stops.push(() => peer.stop())
  peer.services.pubsub.subscribe(topic)
  return peer
}

/** The signed bytes of a key, as a node holds them. */
const bytesAt = (n: MarketNode, key: string): Uint8Array => {
  const epoch = internals(n).market.epochOf()
  const bytes = internals(n).market.doc(epoch).entry(key)
  if (bytes == null) throw new Error(`${key} not held`)
  return bytes
}

describe('hostile updates over GossipSub', () => {
  it("a squat of the seller's next slot is refused; the victim then syncs the seller's real listings", async () => {
    const seller = await node()
    const honest = await node()
    const victim = await node()
    await honest.dial(seller.getMultiaddrs())
    await seller.services.market.publishMany([listingInput('a'), listingInput('b', { name: 'Agent b' })])
    const a = listingKey(seller.peerId.toString(), 'a')
    const b = listingKey(seller.peerId.toString(), 'b')
    await eventually(() => honest.services.market.get(a) != null && honest.services.market.get(b) != null, 5_000)

    // The attacker reaches only the victim, and writes the seller's own record of `b` into the slot of `a`.
    const topic = internals(victim).topicOf(internals(victim).market.epochOf())
    const attacker = await rawPeer(topic)
    await attacker.dial(victim.getMultiaddrs())
    await eventually(() => attacker.services.pubsub.getSubscribers(topic).length >= 1, 5_000, 'attacker mesh')
    const recordOfB = bytesAt(seller, b)
    const squats = [
      encodeRawUpdate([{ client: entryClientId(a), clock: 0, structs: [firstEntry(a, recordOfB)] }]),
      encodeRawUpdate([{ client: clientIdOf(seller.peerId.toString()), clock: 0, structs: [firstEntry(b, recordOfB)] }])
    ]
    const probe = probeQuery(() => victim.services.market.find())
    for (const squat of squats) await attacker.services.pubsub.publish(topic, squat).catch(() => undefined)
    // The same peer relaying the seller's real record of `a`, in its slot, is accepted: the messages do arrive.
    const relay = encodeRawUpdate([
      { client: entryClientId(a), clock: 0, structs: [firstEntry(a, bytesAt(seller, a))] }
    ])
    await attacker.services.pubsub.publish(topic, relay)
    await eventually(() => victim.services.market.find().length === 1, 5_000, 'relayed listing')
    expect(victim.services.market.get(a)).toEqual(seller.services.market.get(a))

    await victim.dial(honest.getMultiaddrs())
    await eventually(() => victim.services.market.find().length === 2, 10_000, 'victim synced')
    const { worstCallMs, worstLatencyMs } = probe.stop()
    expect(worstCallMs).toBeLessThan(100) // find(), timed around the call
    expect(worstLatencyMs).toBeLessThan(250) // what a caller waits, event loop included (generous: shared cores)
    expect(victim.services.market.get(a)).toEqual(seller.services.market.get(a))
    expect(victim.services.market.get(b)).toEqual(seller.services.market.get(b))
    const epoch = internals(victim).market.epochOf()
    expect(internals(victim).market.doc(epoch).stateVector()).toEqual(internals(honest).market.doc(epoch).stateVector())
  })

  it('decode bombs are refused cheaply: listings stay complete and find() answers within 100 ms', async () => {
    const seller = await node()
    const victim = await node()
    await victim.dial(seller.getMultiaddrs())
    await seller.services.market.publishMany(Array.from({ length: 30 }, (_, i) => listingInput(`l${i}`)))
    await eventually(() => victim.services.market.find({ limit: 100 }).length === 30, 5_000, 'listings')

    const topic = internals(victim).topicOf(internals(victim).market.epochOf())
    const attacker = await rawPeer(topic)
    await attacker.dial(victim.getMultiaddrs())
    await eventually(() => attacker.services.pubsub.getSubscribers(topic).length >= 1, 5_000, 'attacker mesh')
    const bombs = [subdocBomb(), tinyStructBomb(), gcBomb(), rootTypeSpam(99, ['listi_gs', 'l[stings'])]
    const probe = probeQuery(() => victim.services.market.find({ limit: 100 }))
    for (let round = 0; round < 3; round++) {
      for (const bomb of bombs) await attacker.services.pubsub.publish(topic, bomb).catch(() => undefined)
    }
    await new Promise((r) => setTimeout(r, 1_000))
    const { worstCallMs, worstLatencyMs } = probe.stop()
    expect(worstCallMs).toBeLessThan(100) // find(), timed around the call
    expect(worstLatencyMs).toBeLessThan(250) // what a caller waits, event loop included (generous: shared cores)
    expect(victim.services.market.find({ limit: 100 })).toHaveLength(30)
    // They did arrive, and were judged invalid: GossipSub scored their sender down.
    const score = (victim.services.pubsub as unknown as { getScore(peer: string): number }).getScore
    expect(score.call(victim.services.pubsub, attacker.peerId.toString())).toBeLessThan(0)
    // The victim still takes the seller's updates.
    await seller.services.market.publish(listingInput('l0', { name: 'still here' }))
    await eventually(
      () => victim.services.market.get(listingKey(seller.peerId.toString(), 'l0'))?.name === 'still here',
      5_000,
      'honest update after the attack'
    )
  })
})
