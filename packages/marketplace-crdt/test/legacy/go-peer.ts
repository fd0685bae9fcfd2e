/**
 * A "Go-style" Betar peer for interop tests, written from the Go inventory's description of the wire format only
 * (§2.3, §2.5, §2.6) — it shares no code with the bridge. It is a plain libp2p node with GossipSub (signed messages,
 * as Go's `StrictSign`): it publishes hand-written JSON on `betar/marketplace/listings`, records what it receives
 * there, serves `/betar/marketplace/1.0.0` with hand-written framing, and pulls `info` from others as Go does.
 */
import '../../../../tools/polyfills.ts'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Stream } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'

export const TOPIC = 'betar/marketplace/listings'
export const PROTOCOL = '/betar/marketplace/1.0.0'

export type GoPeer = Libp2p<{ pubsub: ReturnType<ReturnType<typeof gossipsub>> }> & {
  /** Raw data of every message received on the topic, in order. */
  received: Uint8Array[]
  /** What the `/betar/marketplace/1.0.0` handler answers to a request type: the raw response bytes (frame included). */
  answer: (type: string, data: Uint8Array) => Uint8Array
  /** Requests the handler received. */
  requests: Array<{ type: string; data: Uint8Array }>
  announce(json: string): Promise<void>
  /** Go's client side of `info`: `[u16 4]["info"][u32 0]`, then reads `[u32 len][data]`. */
  pullInfo(target: Multiaddr, type?: string): Promise<Uint8Array>
}

const enc = new TextEncoder()

/** `[u32 BE len][data]`, Go's response frame. */
export function goResponse(data: string | Uint8Array): Uint8Array {
  const body = typeof data === 'string' ? enc.encode(data) : data
  const out = new Uint8Array(4 + body.length)
  new DataView(out.buffer).setUint32(0, body.length)
  out.set(body, 4)
  return out
}

async function readAll(stream: Stream): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const chunk of stream) chunks.push(chunk instanceof Uint8Array ? chunk : chunk.subarray())
  return Buffer.concat(chunks)
}

export async function createGoPeer(): Promise<GoPeer> {
  const node = (await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
  })) as unknown as GoPeer
  node.received = []
  node.requests = []
  node.answer = () => goResponse('[]')
  node.services.pubsub.subscribe(TOPIC)
  node.services.pubsub.addEventListener('message', (e) => {
    if (e.detail.topic === TOPIC) node.received.push(e.detail.data)
  })
  await node.handle(PROTOCOL, async (stream) => {
    // Go's readMessage: [type_len u16 BE][type][data_len u32 BE][data]. The client sends one request per stream.
    const chunks: Uint8Array[] = []
    let have = 0
    let parsed: { type: string; data: Uint8Array } | undefined
    for await (const chunk of stream) {
      const c = chunk instanceof Uint8Array ? chunk : chunk.subarray()
      chunks.push(c)
      have += c.length
      const buf = Buffer.concat(chunks)
      if (have < 2) continue
      const typeLen = buf.readUInt16BE(0)
      if (have < 2 + typeLen + 4) continue
      const dataLen = buf.readUInt32BE(2 + typeLen)
      if (have < 6 + typeLen + dataLen) continue
      parsed = {
        type: buf.subarray(2, 2 + typeLen).toString('utf8'),
        data: buf.subarray(6 + typeLen, 6 + typeLen + dataLen)
      }
      break
    }
    if (parsed == null) return
    node.requests.push(parsed)
    stream.send(node.answer(parsed.type, parsed.data))
    await stream.close()
  })
  node.announce = async (json) => {
    await node.services.pubsub.publish(TOPIC, enc.encode(json))
  }
  node.pullInfo = async (target, type = 'info') => {
    const stream = await node.dialProtocol(target, PROTOCOL)
    const t = enc.encode(type)
    const req = Buffer.alloc(2 + t.length + 4)
    req.writeUInt16BE(t.length, 0)
    Buffer.from(t).copy(req, 2)
    req.writeUInt32BE(0, 2 + t.length)
    stream.send(req)
    await stream.close()
    const reply = Buffer.from(await readAll(stream))
    const len = reply.readUInt32BE(0)
    if (reply.length !== 4 + len) throw new Error(`response frame of ${reply.length} bytes declares ${len}`)
    return reply.subarray(4)
  }
  return node
}
