import '../../../../tools/polyfills.ts'
/**
 * Runs inside its own network namespace (see mdns.test.ts): two marketplace nodes that only find each other by mDNS
 * on the namespace's loopback. Prints one JSON line with what the second node saw.
 */
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { mdns } from '@libp2p/mdns'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { marketplace } from '../../src/index.ts'
import { eventually, listingInput } from '../fixtures/nodes.ts'

const node = () =>
  createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: [mdns({ serviceTag: 'betar-mdns', interval: 200 })],
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }),
      market: marketplace({ provide: false })
    }
  })

const [seller, buyer] = await Promise.all([node(), node()])
const t0 = Date.now()
await seller.services.market.publish(listingInput('lan-agent'))
let ok = true
try {
  await eventually(
    () => buyer.services.market.get(`${seller.peerId}/lan-agent`) != null,
    10_000,
    'mDNS discovery + sync'
  )
} catch {
  ok = false
}
process.stdout.write(`${JSON.stringify({ ok, ms: Date.now() - t0, connections: buyer.getConnections().length })}\n`)
await Promise.all([seller.stop(), buyer.stop()])
process.exit(0)
