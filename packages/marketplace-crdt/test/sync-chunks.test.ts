import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { MarketplaceDoc } from '../src/core/marketplace-doc.ts'
import { splitVector } from '../src/service/sync/vector-parts.ts'
import { decodeFrame, encodeFrame, type Frame, FrameType } from '../src/service/sync/wire.ts'
import { sorted } from './helpers/connector.ts'
import { fixedInput, testPeer } from './helpers/peers.ts'

const MINUTE = 60_000

/** A replica holding several sellers' listings with history: refreshed, updated, delisted and collected entries. */
async function populated(now: () => number) {
  const sellers = await Promise.all([1, 2, 3, 4, 5].map((seed) => testPeer(seed, now)))
  const source = new MarketplaceDoc({ peerId: 'source', now })
  for (const seller of sellers) {
    seller.market.addEventListener('update', (e) => source.applyRemote(e.detail.update))
    await seller.market.publishMany(Array.from({ length: 30 }, (_, i) => fixedInput(`l${i}`, 10 * MINUTE)))
    await seller.market.publishMany(Array.from({ length: 30 }, (_, i) => fixedInput(`l${i}`, 10 * MINUTE))) // refresh
    await seller.market.publish(fixedInput('short', MINUTE))
    await seller.market.delist('l3')
  }
  return { sellers, source }
}

describe('chunked state (sync 2.0.0)', () => {
  it('applying the chunks one by one, each validated, gives exactly what one full-state update gives', async () => {
    let t = 1_700_000_000_000
    const now = () => t
    const { sellers, source } = await populated(now)
    // Time passes: the short-lived listings expire and are collected on the source (deletions of others' entries).
    t += 10 * MINUTE
    expect(source.collectGarbage()).toBeGreaterThan(0)

    for (const known of [0, 2]) {
      // A peer that already holds some sellers' state (from their first writes) and none of the others.
      const peer = new MarketplaceDoc({ peerId: 'peer', now })
      for (const seller of sellers.slice(0, known)) peer.applyRemote(seller.market.diff())
      const chunks = [...source.diffChunks(peer.stateVector(), 8 * 1024)]
      expect(chunks.length).toBeGreaterThan(2)
      for (const chunk of chunks) await peer.applyRemoteBulk(chunk)

      const reference = new MarketplaceDoc({ peerId: 'reference', now })
      for (const seller of sellers.slice(0, known)) reference.applyRemote(seller.market.diff())
      reference.applyRemote(source.diff(reference.stateVector()), { maxUpdateSize: 1 << 24, maxStructs: 1 << 20 })
      expect(peer.diff()).toEqual(reference.diff())
      expect(peer.stateVector()).toEqual(source.stateVector())
      expect(sorted(peer.listings())).toEqual(sorted(source.listings()))
      expect(peer.listings().length).toBeGreaterThan(100)
    }
  })

  it('keeps a client whole: one larger than the chunk size travels alone', async () => {
    const t = 1_700_000_000_000
    const { source } = await populated(() => t)
    const clients = Y.decodeStateVector(source.stateVector()).size
    expect([...source.diffChunks(undefined, 1)]).toHaveLength(clients) // one per client
  })

  it('splits a state vector into parts that decode to the whole', async () => {
    const t = 1_700_000_000_000
    const { source } = await populated(() => t)
    const whole = Y.decodeStateVector(source.stateVector())
    const parts = [...splitVector(source.stateVector(), 8)]
    expect(parts.length).toBeGreaterThan(1)
    const merged = new Map<number, number>()
    for (const part of parts) for (const [client, clock] of Y.decodeStateVector(part)) merged.set(client, clock)
    expect(merged).toEqual(whole)
    expect([...splitVector(Y.encodeStateVector(new Map()), 8)]).toEqual([])
  })

  it('frames round-trip, and malformed ones are refused by name', () => {
    const frames: Frame[] = [
      { type: FrameType.HELLO, epochs: [20_000, 20_001] },
      { type: FrameType.EPOCH, epoch: 7 },
      { type: FrameType.VECTOR, epoch: 7, stateVector: Y.encodeStateVector(new Y.Doc()) },
      { type: FrameType.CHUNK, epoch: 7, update: new Uint8Array([1, 2, 3]) },
      { type: FrameType.ACK, bytes: 123_456 },
      { type: FrameType.END },
      { type: FrameType.BUSY, retryAfterMs: 1_000 }
    ]
    for (const frame of frames) expect(decodeFrame(encodeFrame(frame))).toEqual(frame)
    const bad = [
      new Uint8Array([9]), // unknown type
      new Uint8Array([FrameType.ACK]), // truncated
      new Uint8Array([FrameType.END, 0]), // trailing bytes
      new Uint8Array([FrameType.HELLO, 4]), // too many epochs
      new Uint8Array([FrameType.HELLO, 2, 5, 5]), // an epoch twice
      // 2^56, past 2^53 (fuzzing, issue 13): counts are read as safe integers, like epochs
      new Uint8Array([FrameType.ACK, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
      new Uint8Array([FrameType.BUSY, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
    ]
    for (const b of bad) expect(() => decodeFrame(b)).toThrow(expect.objectContaining({ name: 'InvalidMessageError' }))
  })
})
