import { quic } from '@chainsafe/libp2p-quic'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'

/** A dial-only libp2p node whose transport matches the target's multiaddr (QUIC for /quic-v1, TCP otherwise). */
export async function createDialer(target: Multiaddr): Promise<Libp2p> {
  const isQuic = target.getComponents().some((c) => c.name === 'quic-v1')
  return createLibp2p({
    addresses: { listen: [] },
    transports: isQuic ? [quic()] : [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}
