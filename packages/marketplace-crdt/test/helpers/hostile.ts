import { readFileSync } from 'node:fs'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Stream } from '@libp2p/interface'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { createLibp2p } from 'libp2p'
import type { MarketNode } from '../fixtures/nodes.ts'

/**
 * Tools of a hostile peer, written from the wire formats (lib0 encoding of Yjs updates and of the sync frames) rather
 * than with the honest encoder or client.
 */

/** A bare libp2p node: GossipSub and Kademlia, no marketplace and no validator. */
export async function rawNode() {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }),
      dht: kadDHT({ protocol: '/betar/kad/1.0.0', clientMode: false, peerInfoMapper: passthroughMapper })
    }
  })
}
export type RawNode = Awaited<ReturnType<typeof rawNode>>

/** One item of a hand-encoded Yjs v1 update. */
export interface RawItem {
  client: number
  clock: number
  /** A root entry of the listings map under this key (no origin), or… */
  key?: string
  /** …an item extending the chain of `origin`. */
  origin?: { client: number; clock: number }
  /** Binary content, or a number for deleted content of that length. */
  content: Uint8Array | number
}

/**
 * A Yjs v1 update: `varuint #clients`, per client `varuint #structs, client, first clock`, then each item (info byte:
 * content ref | origin bit 0x80 | parentSub bit 0x20; origin id, or parent `"listings"` and the key; content), then the
 * delete set (`#clients`, per client: client, `#ranges`, then clock/length pairs).
 */
export function rawUpdate(items: RawItem[], deletions: Array<{ client: number; clock: number; len: number }> = []) {
  const e = encoding.createEncoder()
  const byClient = new Map<number, RawItem[]>()
  for (const item of items) byClient.set(item.client, [...(byClient.get(item.client) ?? []), item])
  encoding.writeVarUint(e, byClient.size)
  for (const [client, list] of byClient) {
    encoding.writeVarUint(e, list.length)
    encoding.writeVarUint(e, client)
    encoding.writeVarUint(e, list[0]!.clock)
    for (const item of list) {
      const ref = typeof item.content === 'number' ? 1 : 3 // ContentDeleted : ContentBinary
      encoding.writeUint8(e, ref | (item.origin != null ? 0x80 : 0) | (item.origin == null ? 0x20 : 0))
      if (item.origin != null) {
        encoding.writeVarUint(e, item.origin.client)
        encoding.writeVarUint(e, item.origin.clock)
      } else {
        encoding.writeVarUint(e, 1) // the parent is a root type, by name
        encoding.writeVarString(e, 'listings')
        encoding.writeVarString(e, item.key ?? '')
      }
      if (typeof item.content === 'number') encoding.writeVarUint(e, item.content)
      else encoding.writeVarUint8Array(e, item.content)
    }
  }
  const ds = new Map<number, Array<[number, number]>>()
  for (const d of deletions) ds.set(d.client, [...(ds.get(d.client) ?? []), [d.clock, d.len]])
  encoding.writeVarUint(e, ds.size)
  for (const [client, ranges] of ds) {
    encoding.writeVarUint(e, client)
    encoding.writeVarUint(e, ranges.length)
    for (const [clock, len] of ranges) {
      encoding.writeVarUint(e, clock)
      encoding.writeVarUint(e, len)
    }
  }
  return encoding.toUint8Array(e)
}

/** A Yjs v1 state vector: `#entries`, then client/clock pairs. */
export function rawStateVector(entries: Array<[number, number]> = []): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, entries.length)
  for (const [client, clock] of entries) {
    encoding.writeVarUint(e, client)
    encoding.writeVarUint(e, clock)
  }
  return encoding.toUint8Array(e)
}

/** Sync 2.0.0 frame types (README, "Sync protocol"), by hand. */
export const RAW = { HELLO: 0, EPOCH: 1, VECTOR: 2, CHUNK: 3, ACK: 4, END: 5, BUSY: 6 } as const

export function rawHello(epochs: number[]): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, RAW.HELLO)
  encoding.writeVarUint(e, epochs.length)
  for (const epoch of epochs) encoding.writeVarUint(e, epoch)
  return encoding.toUint8Array(e)
}

export function rawFrame(type: number, ...fields: Array<number | Uint8Array>): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, type)
  for (const f of fields) {
    if (typeof f === 'number') encoding.writeVarUint(e, f)
    else encoding.writeUint8Array(e, f)
  }
  return encoding.toUint8Array(e)
}

/** The type and first varuint field of a frame. */
export function peekFrame(bytes: Uint8Array): { type: number; first: number | undefined } {
  const d = decoding.createDecoder(bytes)
  const type = decoding.readVarUint(d)
  return { type, first: decoding.hasContent(d) ? decoding.readVarUint(d) : undefined }
}

/** The payload bytes of a VECTOR or CHUNK frame (what an ACK counts): the frame minus its type and epoch. */
export function bulkSize(frame: Uint8Array): number {
  const d = decoding.createDecoder(frame)
  decoding.readVarUint(d)
  decoding.readVarUint(d)
  return frame.byteLength - d.pos
}

/** A raw length-prefixed view of a stream, with no frame limit of our own. */
export function rawLp(stream: Stream) {
  return lpStream(stream, { maxDataLength: 64 * 1024 * 1024, maxBufferSize: 64 * 1024 * 1024 })
}

/** CPU time of this process's main thread in ms (Linux: /proc, in 10 ms ticks), or of the whole process elsewhere. */
function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10 // utime + stime, in ticks of 10 ms
  } catch {
    const { user, system } = process.cpuUsage()
    return (user + system) / 1_000
  }
}

/**
 * Samples how long a buyer waits for `find()` while something else runs: every `everyMs`, the event-loop delay of the
 * tick plus the duration of `find()` itself. The machine is shared (other test runs take its two cores), so a delay
 * counts only as far as this process's main thread ran meanwhile: a gap in which the OS ran someone else is not our
 * stall. `stop()` returns that worst case, the raw wall-clock worst case, and the number of samples.
 */
export function probeFind(node: MarketNode, everyMs = 10) {
  let worst = 0
  let worstWall = 0
  let samples = 0
  let last = performance.now()
  let lastCpu = mainThreadCpuMs()
  const timer = setInterval(() => {
    const start = performance.now()
    const cpu = mainThreadCpuMs() - lastCpu
    node.services.market.find({ capability: 'summarize', limit: 50 })
    const end = performance.now()
    const wall = start - last - everyMs + (end - start)
    worstWall = Math.max(worstWall, wall)
    worst = Math.max(worst, Math.min(wall, cpu + 10 + (end - start))) // + one tick of /proc granularity
    samples++
    last = end
    lastCpu = mainThreadCpuMs()
  }, everyMs)
  return {
    stop(): { worstMs: number; worstWallMs: number; samples: number } {
      clearInterval(timer)
      return { worstMs: Math.round(worst), worstWallMs: Math.round(worstWall), samples }
    }
  }
}

/** The current epoch with the service's default 24 h epochs. */
export const currentEpoch = (): number => Math.floor(Date.now() / 86_400_000)
