import * as Y from 'yjs'
import { RejectedUpdateError } from '../errors.ts'
import { parseRecord, type SignedRecord, verifyParsed } from './envelope.ts'
import { runNow } from './slices.ts'
import { scanUpdate } from './update-format.ts'
import {
  type DroppedEntry,
  deleteIndex,
  type EntryView,
  groupsOf,
  keepVerified,
  keepWithinQuota,
  LISTINGS_MAP,
  parseEntries,
  planChains,
  planDeletes,
  scanLimits,
  sellerOf,
  type ValidatedUpdate,
  type ValidationOptions,
  verifyNow
} from './validate.ts'

/** An {@link EntryView} over one plain Y.Doc (records verified on demand): for {@link validateUpdate}. */
function plainView(doc: Y.Doc): EntryView {
  const map = doc.getMap(LISTINGS_MAP) as unknown as { _map: Map<string, Y.Item> }
  const last = (client: number) => {
    const structs = doc.store.clients.get(client)
    return structs?.[structs.length - 1]
  }
  const bytesOf = (item: Y.AbstractStruct | undefined) =>
    item instanceof Y.Item && item.content instanceof Y.ContentBinary ? item.content.content.byteLength : 0
  return {
    state: (client) => Y.getState(doc.store, client),
    keyOf: (client) => {
      const first = doc.store.clients.get(client)?.[0]
      return first instanceof Y.Item && first.parentSub != null ? first.parentSub : undefined
    },
    tailLive: (client) => {
      const item = last(client)
      return item instanceof Y.Item && !item.deleted
    },
    tailBytes: (client) => bytesOf(last(client)),
    current: (key) => {
      const item = map._map.get(key)
      if (item == null || item.deleted || !(item.content instanceof Y.ContentBinary)) return undefined
      try {
        const parsed = parseRecord(item.content.content)
        return verifyParsed(parsed) ? parsed : undefined
      } catch {
        return undefined
      }
    },
    usage: (seller) => {
      let keys = 0
      let bytes = 0
      for (const [key, item] of map._map) {
        if (sellerOf(key) !== seller) continue
        keys++
        bytes += bytesOf(item)
      }
      return { keys, bytes }
    }
  }
}

/**
 * Checks a Yjs update from the network against one plain Y.Doc **without applying it**, all or nothing. (A
 * `MarketplaceDoc` runs the same rules entry by entry in `applyRemote`.) Throws {@link RejectedUpdateError};
 * `needsSync` marks an update that only failed because an earlier one is missing.
 */
export function validateUpdate(doc: Y.Doc, update: Uint8Array, o: ValidationOptions): ValidatedUpdate {
  const view = plainView(doc)
  const scan = runNow(scanUpdate(update, scanLimits(o)))
  const parsed = runNow(parseEntries(scan, view))
  const deletes = deleteIndex(scan)
  const dropped: DroppedEntry[] = []
  let { plans } = planChains(scan, groupsOf(scan), parsed, deletes, view, o, true)
  plans = keepVerified(plans, verifyNow(plans, parsed, o.preverified), dropped, true)
  plans = keepWithinQuota(plans, view, o, dropped, true)
  const byClient = new Map(plans.map((p) => [p.client, p]))
  const { removed } = runNow(planDeletes(scan, byClient, view, o, dropped, true))
  // `applyRemote` leaves out deletions beyond what the node holds or receives; here the caller applies the update as
  // it is, and Yjs would keep such a range pending for good (re-tried, and merged, on every later update).
  for (let i = 0; i < scan.ranges; i++) {
    const client = scan.rangeClient(i)
    const plan = byClient.get(client)
    const known = Math.max(view.state(client), plan != null ? plan.finalClock + 1 : 0)
    if (scan.rangeClock(i) + scan.rangeLen(i) > known) {
      throw new RejectedUpdateError(`deletes clocks of client ${client} this document does not hold`, true)
    }
  }
  const records = new Map<string, SignedRecord>()
  for (const p of plans) if (!p.finalDeleted) records.set(p.key, { record: p.final.record, bytes: p.final.bytes })
  return { records, removed }
}
