import * as Y from 'yjs'
import { type InvalidListingError, RejectedUpdateError } from '../errors.ts'
import { clientIdOf } from './client-id.ts'
import { type PreverifiedSignatures, type SignedRecord, verifyRecord } from './envelope.ts'
import { type ListingRecord, listingKey, MAX_LISTING_TTL_MS } from './listing.ts'

/** Name of the root Y.Map holding every listing, keyed `<seller peer id>/<listing id>`. */
export const LISTINGS_MAP = 'listings'

/** Bounds and clock used while validating (docs/marketplace-threat-model.md). */
export interface ValidationOptions {
  /** Unix ms. */
  now: number
  /** Largest update accepted. */
  maxUpdateSize: number
  /** Most structs (items) in one update. */
  maxStructs: number
  /** How far a listing's `updatedAt` may be in the future (clock skew). */
  maxSkewMs: number
  /** After expiry (listings) or retention (delistings), anyone may delete an entry once this grace has passed. */
  graceMs: number
  /** The version of a key this node collected (deleted) recently, so a replay of it is refused. */
  knownVersion?: (key: string) => number | undefined
  /** Longest a listing may live. @default 24 h */
  maxTtlMs?: number
  /** Signatures already checked for exactly these bytes (a parallel pre-check of a large sync). */
  preverified?: PreverifiedSignatures
}

/** What an accepted update changes. */
export interface ValidatedUpdate {
  /** Keys whose value the update replaces, with the new verified record. */
  records: Map<string, SignedRecord>
  /** Keys whose live value the update deletes (expired entries). */
  removed: Set<string>
}

type DecodedItem = Y.Item & { parent: string | Y.ID | null; parentSub: string | null }

interface KeyState {
  /** Last id of the rightmost item for the key, which a new item must extend. */
  tail: Y.ID | null
  version: number
  /** Whether the newest item seen for the key (in the doc, then in this update) carries a live value. */
  live: boolean
}

const reject = (message: string, needsSync = false): never => {
  throw new RejectedUpdateError(message, needsSync)
}

/** How long a delisting tombstone is kept: past it, any replay of the withdrawn listing has expired anyway. */
export function delistingRetentionMs(o: Pick<ValidationOptions, 'graceMs' | 'maxTtlMs'>): number {
  return (o.maxTtlMs ?? MAX_LISTING_TTL_MS) + o.graceMs
}

function recordOf(item: Y.Item): SignedRecord | undefined {
  if (item.deleted || !(item.content instanceof Y.ContentBinary)) return undefined
  try {
    return verifyRecord(item.content.content)
  } catch {
    return undefined
  }
}

/** When anyone may delete an entry: a listing once expired for a grace period, a delisting after its retention. */
export function collectionTime(record: ListingRecord, o: Pick<ValidationOptions, 'graceMs' | 'maxTtlMs'>): number {
  return record.kind === 'listing' ? record.expiresAt + o.graceMs : record.updatedAt + delistingRetentionMs(o)
}

/** Whether an entry may be deleted by anyone now. */
function collectable(record: SignedRecord | undefined, o: ValidationOptions): boolean {
  return record != null && collectionTime(record.record, o) < o.now
}

/**
 * Checks a Yjs update from the network **before** it is applied: every item must sit under a `<peer>/<id>` key of
 * the listings map, be written with that peer's client id (see {@link clientIdOf}), extend the key's current chain,
 * and end with a listing or delisting signed by that peer that is newer than the current one and unexpired; every
 * deletion must be of an entry the same update supersedes, or of an expired one. Throws {@link RejectedUpdateError};
 * `needsSync` marks an update that only failed because an earlier one is missing.
 */
export function validateUpdate(doc: Y.Doc, update: Uint8Array, o: ValidationOptions): ValidatedUpdate {
  if (update.byteLength > o.maxUpdateSize) reject(`update of ${update.byteLength} bytes exceeds ${o.maxUpdateSize}`)
  let decoded: ReturnType<typeof Y.decodeUpdate>
  try {
    decoded = Y.decodeUpdate(update)
  } catch (err) {
    return reject(`undecodable update: ${(err as Error).message}`)
  }
  if (decoded.structs.length > o.maxStructs) reject(`update has more than ${o.maxStructs} structs`)

  const map = doc.getMap(LISTINGS_MAP)
  const keys = new Map<string, KeyState>()
  const stateOf = (key: string): KeyState => {
    let state = keys.get(key)
    if (state == null) {
      // Y.Map's public API gives values only; `_map` (key → rightmost Item) is the structure a new item must extend.
      const current = (map as unknown as { _map: Map<string, Y.Item> })._map.get(key)
      const record = current != null ? recordOf(current) : undefined
      state = {
        tail: current?.lastId ?? null,
        version: record?.record.updatedAt ?? -1,
        live: current != null && !current.deleted
      }
      keys.set(key, state)
    }
    return state
  }
  const records = new Map<string, SignedRecord>()
  const newItems = new Map<string, string>() // `${client}:${lastClock}` → key, for origins inside this update
  const expected = new Map<number, number>() // next clock per client
  const newIds: Array<{ client: number; clock: number; length: number; key: string }> = []

  for (const struct of decoded.structs) {
    if (!(struct instanceof Y.Item)) return reject('only items are accepted (no GC or skip structs)')
    const item = struct as DecodedItem
    const { client, clock } = item.id
    const known = expected.get(client) ?? Y.getState(doc.store, client)
    if (clock + item.length <= known) continue // already integrated: Yjs skips it
    if (clock !== known) reject(`client ${client} jumps from clock ${known} to ${clock}`, true)
    expected.set(client, clock + item.length)

    let key: string
    if (item.origin == null) {
      if (item.rightOrigin != null) reject('items are only appended to a key, never inserted before another')
      if (item.parent !== LISTINGS_MAP || item.parentSub == null) reject('items must be entries of the listings map')
      key = item.parentSub as string
      if (stateOf(key).tail != null) reject(`a new chain for ${key}, which already has one`)
    } else {
      if (item.rightOrigin != null) reject('items are only appended to a key, never inserted before another')
      if (item.origin.client !== client) reject("items may only extend their own client's chain")
      const inUpdate = newItems.get(`${item.origin.client}:${item.origin.clock}`)
      let resolved = inUpdate
      if (resolved == null) {
        let origin: Y.AbstractStruct | undefined
        try {
          origin = Y.getItem(doc.store, item.origin)
        } catch {
          origin = undefined
        }
        if (!(origin instanceof Y.Item)) return reject('item extends an item this node does not have', true)
        if (origin.parent !== map || origin.parentSub == null) reject('items must be entries of the listings map')
        resolved = origin.parentSub as string
      }
      key = resolved
      const tail = stateOf(key).tail
      if (tail == null || tail.client !== item.origin.client || tail.clock !== item.origin.clock) {
        reject(`item for ${key} does not extend the key's latest entry`)
      }
    }

    const owner = key.slice(0, key.indexOf('/'))
    if (owner.length === 0 || clientIdOf(owner) !== client) reject(`client ${client} may not write ${key}`)
    const state = stateOf(key)
    if (item.content instanceof Y.ContentBinary) {
      let signed: SignedRecord
      try {
        signed = verifyRecord(item.content.content, o.preverified)
      } catch (err) {
        return reject(`${key}: ${(err as InvalidListingError).message}`)
      }
      const r = signed.record
      if (r.seller !== owner || listingKey(r.seller, r.id) !== key)
        reject(`${key} holds a record of ${listingKey(r.seller, r.id)}`)
      if (r.updatedAt <= state.version) reject(`${key}: version ${r.updatedAt} is not newer than ${state.version}`)
      if (r.updatedAt > o.now + o.maxSkewMs) reject(`${key}: version is in the future`)
      if (r.kind === 'listing' && r.expiresAt > r.updatedAt + (o.maxTtlMs ?? MAX_LISTING_TTL_MS))
        reject(`${key}: lives longer than allowed`)
      // Entries past their collection time are refused (a stale copy must not come back), with one more grace period
      // of slack so that a peer that has not collected yet can still sync its state to us. An entry that arrives
      // already deleted (a peer's collected history) never becomes visible, so only its signature and version matter.
      if (!Y.isDeleted(decoded.ds, item.id)) {
        if (collectionTime(r, o) + o.graceMs <= o.now) reject(`${key}: expired`)
        if (r.updatedAt <= (o.knownVersion?.(key) ?? -1)) reject(`${key}: version ${r.updatedAt} was already collected`)
      }
      state.version = r.updatedAt
      state.live = true
      records.set(key, signed)
    } else if (item.content instanceof Y.ContentDeleted) {
      state.live = false // superseded history; the key must end live (checked below)
      records.delete(key)
    } else {
      reject(`${key}: unsupported content ${item.content.constructor.name}`)
    }
    state.tail = item.lastId
    newItems.set(`${client}:${item.lastId.clock}`, key)
    newIds.push({ client, clock, length: item.length, key })
  }

  const extended = new Set(newIds.map((n) => n.key))
  for (const key of extended) {
    if (keys.get(key)?.live !== true) reject(`${key}: an update must not end a key with a deletion`)
  }

  // Deletions: only of entries this update supersedes, or of expired ones.
  const newByClient = new Map<number, typeof newIds>()
  for (const n of newIds) {
    const list = newByClient.get(n.client)
    if (list == null) newByClient.set(n.client, [n])
    else list.push(n)
  }
  const removed = new Set<string>()
  for (const [client, ranges] of decoded.ds.clients) {
    for (const { clock, len } of ranges) {
      const end = clock + len
      for (const n of newByClient.get(client) ?? []) {
        const tail = keys.get(n.key)?.tail
        const isTail = tail != null && tail.client === n.client && tail.clock === n.clock + n.length - 1
        if (!isTail || n.clock >= end || n.clock + n.length <= clock) continue
        if (!collectable(records.get(n.key), o)) reject(`${n.key}: the update deletes its own new entry`)
        records.delete(n.key)
        removed.add(n.key)
      }
      const structs = doc.store.clients.get(client)
      if (structs == null || clock >= Y.getState(doc.store, client)) continue
      for (let index = Y.findIndexSS(structs, clock); index < structs.length; index++) {
        const item = structs[index]
        if (item == null || item.id.clock >= end) break
        if (!(item instanceof Y.Item) || item.deleted) continue
        const key = item.parentSub
        if (key == null || item.parent !== map) return reject('deletes something outside the listings map')
        if (extended.has(key)) continue // overwritten by this update: its new entry supersedes this one
        if (!collectable(recordOf(item), o)) reject(`deletes the live entry ${key} before it expired`)
        removed.add(key)
      }
    }
  }
  return { records, removed }
}
