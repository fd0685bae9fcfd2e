import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { beforeEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  canonical,
  entryClientId,
  LISTINGS_MAP,
  MarketplaceDoc,
  RejectedUpdateError,
  signRecord
} from '../src/index.ts'
import { listingInput } from './fixtures/listing.ts'

interface Peer {
  key: PrivateKey
  id: string
  market: MarketplaceDoc
  /** Updates this peer emitted for its own writes. */
  out: Uint8Array[]
}

let clock = 1_700_000_000_000
const now = () => clock

async function peer(): Promise<Peer> {
  const key = await generateKeyPair('Ed25519')
  const id = peerIdFromPrivateKey(key).toString()
  const market = new MarketplaceDoc({ peerId: id, privateKey: key, now })
  const out: Uint8Array[] = []
  market.addEventListener('update', (e) => {
    if (e.detail.local) out.push(e.detail.update)
  })
  return { key, id, market, out }
}

const input = listingInput

/** A hostile peer's own Y.Doc that writes with whatever client id it likes, starting from the victim's state. */
function forge(from: MarketplaceDoc, clientId: number, write: (map: Y.Map<Uint8Array>) => void): Uint8Array {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, from.diff())
  doc.clientID = clientId
  const sv = Y.encodeStateVector(doc)
  write(doc.getMap<Uint8Array>(LISTINGS_MAP))
  return Y.encodeStateAsUpdate(doc, sv)
}

function rejects(market: MarketplaceDoc, update: Uint8Array, pattern: RegExp): void {
  const before = market.diff()
  expect(() => market.applyRemote(update)).toThrow(RejectedUpdateError)
  expect(() => market.applyRemote(update)).toThrow(pattern)
  expect(market.diff()).toEqual(before) // nothing applied
}

/** A key's client id: every version of a key is written by the client bound to it. */
const clientOf = (key: string) => entryClientId(key)

/** A signed envelope's payload, and the envelope re-encoded with another payload. */
function envelopeOf(bytes: Uint8Array): { payload: Record<string, unknown>; encode(p: unknown): Uint8Array } {
  const envelope = JSON.parse(new TextDecoder().decode(bytes)) as { p: string; s: string }
  return {
    payload: JSON.parse(envelope.p),
    encode: (p) => new TextEncoder().encode(JSON.stringify({ ...envelope, p: canonical(p) }))
  }
}

describe('ownership enforced on remote updates', () => {
  let seller: Peer
  let honest: Peer
  let attacker: Peer

  beforeEach(async () => {
    clock = 1_700_000_000_000
    ;[seller, honest, attacker] = await Promise.all([peer(), peer(), peer()])
    await seller.market.publish(input('summarizer'))
    for (const u of seller.out) honest.market.applyRemote(u)
  })

  const key = () => `${seller.id}/summarizer`

  it('accepts the owner publishing, updating and delisting', async () => {
    expect(honest.market.get(key())?.name).toBe('Agent summarizer')
    seller.out.length = 0
    clock += 1000
    await seller.market.publish(input('summarizer', { name: 'Summarizer v2' }))
    honest.market.applyRemote(seller.out[0]!)
    expect(honest.market.get(key())?.name).toBe('Summarizer v2')
    clock += 1000
    await seller.market.delist('summarizer')
    honest.market.applyRemote(seller.out[1]!)
    expect(honest.market.get(key())).toBeUndefined()
    expect(honest.market.listings()).toEqual([])
  })

  it("rejects overwriting another seller's listing with the attacker's own client id", () => {
    const update = forge(honest.market, clientOf(`${attacker.id}/x`), (m) => m.set(key(), new Uint8Array([1])))
    rejects(honest.market, update, /may not write|must start with its key|own client's chain/)
  })

  it("rejects a write under the victim's client id with content the victim did not sign", async () => {
    const fake = await signRecord(
      {
        ...honest.market.get(key())!,
        price: { ...honest.market.get(key())!.price, payTo: '0x000000000000000000000000000000000000dEaD' },
        seller: attacker.id
      },
      attacker.key
    )
    const update = forge(honest.market, clientOf(key()), (m) => m.set(key(), fake.bytes))
    rejects(honest.market, update, /holds a record of|may not write/)
  })

  it("rejects changing the victim's price or payTo: the signature no longer verifies", () => {
    const { payload, encode } = envelopeOf(honest.market.entry(key())!)
    // Newer, in the next slot: only the signature can stop it.
    const tampered = encode({
      ...payload,
      seq: 1,
      updatedAt: (payload.updatedAt as number) + 1,
      price: { ...(payload.price as object), payTo: '0x000000000000000000000000000000000000dEaD' }
    })
    const update = forge(honest.market, clientOf(key()), (m) => m.set(key(), tampered))
    rejects(honest.market, update, /signature does not verify/)
  })

  it("rejects deleting another seller's live listing", () => {
    const update = forge(honest.market, clientOf(`${attacker.id}/x`), (m) => m.delete(key()))
    rejects(honest.market, update, /deletes the live entry/)
  })

  it('rejects a replayed older version of the listing (rollback), in its slot or another', async () => {
    const old = honest.market.entry(key())!
    clock += 1000
    seller.out.length = 0
    await seller.market.publish(input('summarizer', { name: 'newer' }))
    honest.market.applyRemote(seller.out[0]!)
    const update = forge(honest.market, clientOf(key()), (m) => m.set(key(), old))
    rejects(honest.market, update, /signed for slot 0 sits in slot 2/)
    // Re-signed for the slot, an older version is still older.
    const { payload } = envelopeOf(old)
    const resigned = await signRecord({ ...(payload as object), seq: 2 } as never, seller.key)
    rejects(
      honest.market,
      forge(honest.market, clientOf(key()), (m) => m.set(key(), resigned.bytes)),
      /not newer/
    )
    expect(honest.market.get(key())?.name).toBe('newer')
  })

  it('rejects a forged signature, garbage bytes, oversized updates and foreign structures', () => {
    const { payload, encode } = envelopeOf(honest.market.entry(key())!)
    const next = JSON.parse(new TextDecoder().decode(encode({ ...payload, seq: 1, updatedAt: clock + 1 }))) as {
      p: string
      s: string
    }
    next.s = `${next.s.slice(0, -4)}AAAA`
    const forged = forge(honest.market, clientOf(key()), (m) =>
      m.set(key(), new TextEncoder().encode(JSON.stringify(next)))
    )
    rejects(honest.market, forged, /signature|malformed/)
    rejects(honest.market, new Uint8Array([0xff, 0x01, 0x02, 0x03]), /undecodable|truncated/)
    rejects(honest.market, new Uint8Array(1024 * 1024 + 1), /exceeds/)
    const doc = new Y.Doc()
    doc.clientID = clientOf(`${attacker.id}/x`)
    doc.getArray('spam').push(['x'])
    rejects(honest.market, Y.encodeStateAsUpdate(doc), /listings-map entries/)
  })

  it('rejects a listing long expired (past collection and one more grace), or one that lives longer than 24 h', async () => {
    const mallory = await peer()
    const sign = (updatedAt: number, expiresAt: number) =>
      signRecord(
        {
          ...input('x'),
          v: 1,
          kind: 'listing',
          seller: mallory.id,
          seq: 0,
          createdAt: updatedAt,
          updatedAt,
          expiresAt
        },
        mallory.key
      )
    const stale = await sign(clock - 60 * 60_000, clock - 11 * 60_000) // expired 11 min ago: > 2 × 5 min grace
    rejects(
      honest.market,
      forge(honest.market, clientOf(`${mallory.id}/x`), (m) => m.set(`${mallory.id}/x`, stale.bytes)),
      /expired/
    )
    const immortal = await sign(clock, clock + 25 * 60 * 60_000)
    rejects(
      honest.market,
      forge(honest.market, clientOf(`${mallory.id}/x`), (m) => m.set(`${mallory.id}/x`, immortal.bytes)),
      /lives longer/
    )
    const recent = await sign(clock - 20 * 60_000, clock - 60_000) // just expired: still accepted, so sync works
    expect(() =>
      honest.market.applyRemote(
        forge(honest.market, clientOf(`${mallory.id}/x`), (m) => m.set(`${mallory.id}/x`, recent.bytes))
      )
    ).not.toThrow()
    expect(honest.market.get(`${mallory.id}/x`)).toBeUndefined() // but never shown
  })

  it('asks for a sync, rather than guessing, when an earlier update is missing', async () => {
    seller.out.length = 0
    clock += 1000
    await seller.market.publish(input('summarizer', { name: 'v2' }))
    clock += 1000
    await seller.market.publish(input('summarizer', { name: 'v3' }))
    let err: unknown
    try {
      honest.market.applyRemote(seller.out[1]!)
    } catch (e) {
      err = e
    }
    expect(err).toMatchObject({ name: 'RejectedUpdateError', needsSync: true })
    honest.market.applyRemote(seller.market.diff(honest.market.stateVector()))
    expect(honest.market.get(key())?.name).toBe('v3')
  })

  it('a late joiner accepts the full state of a document with history, delistings and many sellers', async () => {
    const others = await Promise.all([peer(), peer()])
    for (const p of others) {
      await p.market.publish(input('a'))
      clock += 10
      await p.market.publish(input('a', { name: 'a2' }))
      await p.market.publish(input('b'))
      await p.market.delist('b')
      for (const u of p.out) honest.market.applyRemote(u)
    }
    const late = await peer()
    late.market.applyRemote(honest.market.diff())
    expect(
      late.market
        .listings()
        .map((l) => l.name)
        .sort()
    ).toEqual(['Agent summarizer', 'a2', 'a2'])
  })

  it('anyone may collect an expired listing once the grace period has passed, and the deletion is accepted', async () => {
    const third = new MarketplaceDoc({ peerId: attacker.id, now })
    third.applyRemote(seller.market.diff())
    clock += 10 * 60_000 + 5 * 60_000 + 1 // past the 10 min TTL and the 5 min grace
    expect(honest.market.listings()).toEqual([])
    const deletions: Uint8Array[] = []
    honest.market.addEventListener('update', (e) => deletions.push(e.detail.update))
    expect(honest.market.collectGarbage()).toBe(1)
    third.applyRemote(deletions[0]!)
    expect([...third.entries()]).toHaveLength(0)
    // …and the collected version cannot be replayed under the key's client id, in its slot or another.
    const collected = seller.market.entry(key())!
    const replay = forge(honest.market, clientOf(key()), (m) => m.set(key(), collected))
    rejects(honest.market, replay, /signed for slot 0 sits in slot 1/)
    const { payload } = envelopeOf(collected)
    const resigned = await signRecord({ ...(payload as object), seq: 1 } as never, seller.key)
    rejects(
      honest.market,
      forge(honest.market, clientOf(key()), (m) => m.set(key(), resigned.bytes)),
      /expired|already collected/
    )
  })

  it('rejects the collection of a listing that has not expired yet', () => {
    let skewed = clock
    const early = new MarketplaceDoc({ peerId: attacker.id, now: () => skewed })
    early.applyRemote(seller.market.diff())
    skewed = clock + 60 * 60_000 // this node's clock runs an hour fast
    const deletions: Uint8Array[] = []
    early.addEventListener('update', (e) => deletions.push(e.detail.update))
    expect(early.collectGarbage()).toBe(1)
    rejects(honest.market, deletions[0]!, /before it expired/)
    expect(honest.market.get(key())).toBeDefined()
  })
})
