import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { verifyRecord } from '../src/core/envelope.ts'
import { listingKey } from '../src/core/listing.ts'
import { DEFAULT_VALIDATION, MarketplaceDoc } from '../src/core/marketplace-doc.ts'
import { validateUpdate } from '../src/core/validate-plain.ts'
import { RejectedUpdateError } from '../src/errors.ts'
import { fixedInput, testPeer } from './helpers/peers.ts'

/*
 * Review of issue 13 (hostile peers, same kinds of fault as the issue's): defects found from outside, all fixed since
 * (each "Defect" comment says what was wrong). Inputs are written byte by byte here.
 *
 * The kind: lib0's `readVarUint` returns NaN for an overlong varint whose continuation bytes carry no bits
 * (0x80 × 147, then 0x00: `0 * 128^147` is `0 * Infinity`). `update-format.ts`'s `readUint(d, max)` bounds a value with
 * `n > max`, which NaN never is, so a NaN count, clock or length passes every bound of the scanner (rule 0) and reaches
 * Yjs — the same "passes validation, then Yjs throws a plain Error" as issue 13's fault 4.
 */

const T = 1_700_000_000_000
/** An overlong LEB128 varint that lib0 reads as NaN. */
const NAN_VARINT = [...Array(147).fill(0x80), 0x00]

/** No struct groups; a delete set with one range of client 5 whose clock is NaN (153 bytes). */
const NAN_DELETE_CLOCK = Uint8Array.from([0, 1, 5, 1, ...NAN_VARINT, 1])
/** One struct group whose struct count is NaN (client 5, clock 0), then an empty delete set. */
const NAN_STRUCT_COUNT = Uint8Array.from([1, ...NAN_VARINT, 5, 0, 0])

async function seller() {
  let t = T
  const now = () => t
  const peer = await testPeer(1, now)
  const updates: Uint8Array[] = []
  peer.market.addEventListener('update', (e) => {
    if (e.detail.local) updates.push(e.detail.update)
  })
  await peer.market.publish(fixedInput('a', 20 * 60_000))
  return { peer, updates, now, advance: (ms: number) => (t += ms) }
}

/** What a decoder of peer bytes may do: return, or throw the package's typed error. */
function outcome(run: () => unknown): string {
  try {
    run()
    return 'returned'
  } catch (err) {
    return err instanceof RejectedUpdateError
      ? 'RejectedUpdateError'
      : `untyped ${(err as Error).name}: ${(err as Error).message}`
  }
}

describe('review 13: NaN varints in Yjs updates', () => {
  it('control: lib0 reads the overlong varint as NaN, and an honest range of an unknown client is handled', async () => {
    expect(decoding.readVarUint(decoding.createDecoder(Uint8Array.from(NAN_VARINT)))).toBeNaN()
    const victim = new MarketplaceDoc({ peerId: 'victim', now: () => T })
    expect(outcome(() => victim.applyRemote(Uint8Array.from([0, 1, 5, 1, 0, 1])))).not.toMatch(/^untyped/)
  })

  /*
   * Defect (issue 13 fault 4's kind, on the production path): a 153-byte gossip update or sync chunk — no items, one
   * delete range whose clock is a NaN varint — passes rule 0 and planning (`planDeletes` does not leave out a range
   * whose clock is NaN, since every comparison with NaN is false), and Yjs then throws `Error: Unexpected case` from
   * `UpdateEncoderV2.writeDsLen` (it re-encodes the range as unapplied). `applyRemote` and `applyRemoteBulk` throw that
   * plain Error, not `RejectedUpdateError`: the marketplace's `applyChunk` rethrows anything but `RejectedUpdateError`,
   * so any peer aborts every state sync it serves to us with one such chunk (and an epoch's sync never completes).
   * Expected: `RejectedUpdateError` (the varint is not a safe integer), or the range left out.
   */
  it('applyRemote / applyRemoteBulk of a delete range with a NaN clock throws RejectedUpdateError, not a plain Error', async () => {
    const w = await seller()
    const victim = new MarketplaceDoc({ peerId: 'victim', now: w.now })
    victim.applyRemote(w.updates[0] as Uint8Array)
    expect(outcome(() => victim.applyRemote(NAN_DELETE_CLOCK))).not.toMatch(/^untyped/)
    expect(outcome(() => victim.applyRemote(NAN_DELETE_CLOCK, { partial: true }))).not.toMatch(/^untyped/)
    let bulk = 'returned'
    await victim.applyRemoteBulk(NAN_DELETE_CLOCK, { partial: true }).catch((err: Error) => {
      bulk = err instanceof RejectedUpdateError ? 'RejectedUpdateError' : `untyped ${err.name}: ${err.message}`
    })
    expect(bulk).not.toMatch(/^untyped/)
    expect(victim.listings()).toHaveLength(1)
  })

  /*
   * Defect: `validateUpdate` (the exported check of an update against a plain Y.Doc, "without applying it", which the
   * caller then applies with `Y.applyUpdate` as the package's own test does) accepts an update whose struct group has a
   * NaN struct count: the scanner stores the count in a Uint32Array (NaN → 0), so the group looks empty and held. Yjs
   * reads the same bytes and throws `RangeError: Invalid array length` (`new Array(NaN)`). A delete range with a NaN
   * clock is accepted too, and applying it leaves a pending delete set that never resolves.
   * Expected: both refused with `RejectedUpdateError`.
   */
  it('validateUpdate refuses NaN struct counts and NaN delete clocks that Yjs cannot apply', async () => {
    const w = await seller()
    const options = { ...DEFAULT_VALIDATION, now: w.now() }
    const doc = new Y.Doc()
    Y.applyUpdate(doc, w.updates[0] as Uint8Array)
    expect(outcome(() => validateUpdate(doc, NAN_STRUCT_COUNT, options))).toBe('RejectedUpdateError')
    expect(outcome(() => validateUpdate(doc, NAN_DELETE_CLOCK, options))).toBe('RejectedUpdateError')
  })

  it('control: what validateUpdate accepted above really breaks Yjs (so the acceptance matters)', async () => {
    const w = await seller()
    const doc = new Y.Doc()
    Y.applyUpdate(doc, w.updates[0] as Uint8Array)
    expect(() => Y.applyUpdate(doc, NAN_STRUCT_COUNT)).toThrow(RangeError)
    expect(doc.getMap('listings').has(listingKey(w.peer.id, 'a'))).toBe(true)
  })
})

/** An update with no items and one delete range `[0, 1)` of `client`, a client nobody holds (6 bytes). */
function strayDelete(client: number): Uint8Array {
  const e = encoding.createEncoder()
  for (const n of [0, 1, client, 1, 0, 1]) encoding.writeVarUint(e, n)
  return encoding.toUint8Array(e)
}

describe('review 13: delete ranges of clients nobody holds, through validateUpdate', () => {
  it('control: MarketplaceDoc leaves such ranges out (its own comment: "Yjs would keep them pending forever")', () => {
    const victim = new MarketplaceDoc({ peerId: 'victim', now: () => T })
    for (let i = 0; i < 200; i++) expect(victim.applyRemote(strayDelete(1_000 + i)).applied).toBe(0)
  })

  /*
   * Defect (issue 13 fault 1's kind — an accepted update grows the document for good — through the exported plain-doc
   * validator): `validateUpdate` accepts an update made only of a delete range for a client the document does not hold,
   * which `MarketplaceDoc` leaves out because Yjs keeps it pending forever. Applied as validated (`Y.applyUpdate`, as
   * the package's own validateUpdate test does), each such 6-byte update grows `store.pendingDs`, which Yjs merges and
   * re-tries on every later update: 1,000 of them hold 5 KB pending and cost 0.4 s, 4,000 hold 20 KB and cost 10 s in all
   * (quadratic). Expected: refused (`RejectedUpdateError`), or documented as needing the ranges left out.
   */
  it('validateUpdate refuses delete ranges that Yjs would keep pending forever', () => {
    const doc = new Y.Doc()
    const options = { ...DEFAULT_VALIDATION, now: T }
    for (let i = 0; i < 200; i++) {
      const update = strayDelete(1_000 + i)
      try {
        validateUpdate(doc, update, options)
      } catch (err) {
        if (err instanceof RejectedUpdateError) continue
        throw err
      }
      Y.applyUpdate(doc, update)
    }
    expect(doc.store.pendingDs).toBeNull()
  })
})

describe('review 13: signed payloads that are not well-formed Unicode', () => {
  /*
   * Defect (the kind the x402-v2-frame harness found and fixed for frames — strings that are not well-formed — left
   * open for listings): the signature covers `TextEncoder.encode(p)`, which turns every lone surrogate into U+FFFD. So
   * anyone holding a seller's listing whose text contains U+FFFD can re-wrap it with a lone surrogate (`\ud800`, or any
   * of 2,048) in its place, keep the seller's signature, and `verifyRecord` accepts a record the seller never signed
   * (`name` "Agent \ud800" instead of "Agent \ufffd"). Published into the same slot, the copy and the original are two
   * different Yjs items with one ID: replicas that got either keep it (the other is "not newer"), and sync never
   * reconciles them, since their state vectors are equal. Expected: a payload that is not well-formed refused.
   */
  it('verifyRecord refuses a payload with a lone surrogate whose UTF-8 is a signed payload with U+FFFD', async () => {
    const w = await seller()
    await w.peer.market.publish({ ...fixedInput('u', 20 * 60_000), name: 'Agent \ufffd' })
    const bytes = w.peer.market.entry(listingKey(w.peer.id, 'u')) as Uint8Array
    const envelope = JSON.parse(new TextDecoder().decode(bytes)) as { p: string; s: string }
    const forged = new TextEncoder().encode(
      `{"p":${JSON.stringify(envelope.p.replace('\ufffd', '\ud800'))},"s":"${envelope.s}"}`
    )
    expect(forged).not.toEqual(bytes)
    let name: string | undefined
    try {
      const record = verifyRecord(forged).record
      name = record.kind === 'listing' ? record.name : undefined
    } catch {
      name = undefined
    }
    expect(name, `a record the seller did not sign was accepted: name ${JSON.stringify(name)}`).toBeUndefined()
  })
})
