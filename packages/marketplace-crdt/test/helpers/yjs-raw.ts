import * as encoding from 'lib0/encoding'

/**
 * A hand-written encoder of the Yjs update format v1 (yjs/src/utils/encoding.js `writeClientsStructs`, Item.js
 * `Item.write`, DeleteSet.js `writeDeleteSet`), for hostile peers: it writes any struct a peer can send — content types
 * the honest encoder never produces here (subdocuments, nested types, embeds, GC and Skip runs), items under any client
 * id, clock, origin or parent — without going through a Y.Doc.
 */

/** Item content, by Yjs content ref. */
export type RawContent =
  | { type: 'deleted'; length: number } // 1
  | { type: 'json'; values: string[] } // 2
  | { type: 'binary'; bytes: Uint8Array } // 3
  | { type: 'string'; text: string } // 4
  | { type: 'embed'; json: string } // 5
  | { type: 'format'; key: string; json: string } // 6
  | { type: 'type'; typeRef: number } // 7 (0 YArray, 1 YMap, 2 YText, 4 XmlFragment)
  | { type: 'any'; values: Array<string | number | null> } // 8
  | { type: 'doc'; guid: string } // 9: a subdocument

export type RawStruct =
  | {
      kind: 'item'
      content: RawContent
      /** The item to the left when it was written: (client, clock). */
      origin?: [number, number]
      rightOrigin?: [number, number]
      /** Without origins: the parent (a root type by name, or a nested type by id) and the map key. */
      parent?: string | [number, number]
      key?: string
    }
  | { kind: 'gc'; length: number }
  | { kind: 'skip'; length: number }

export interface RawGroup {
  client: number
  /** Clock of the first struct. */
  clock: number
  structs: RawStruct[]
}

export interface RawDeletes {
  client: number
  ranges: Array<[clock: number, len: number]>
}

const REF = { deleted: 1, json: 2, binary: 3, string: 4, embed: 5, format: 6, type: 7, any: 8, doc: 9 } as const

function writeContent(e: encoding.Encoder, c: RawContent): void {
  switch (c.type) {
    case 'deleted':
      encoding.writeVarUint(e, c.length)
      break
    case 'json':
      encoding.writeVarUint(e, c.values.length)
      for (const v of c.values) encoding.writeVarString(e, v)
      break
    case 'binary':
      encoding.writeVarUint8Array(e, c.bytes)
      break
    case 'string':
      encoding.writeVarString(e, c.text)
      break
    case 'embed':
      encoding.writeVarString(e, c.json)
      break
    case 'format':
      encoding.writeVarString(e, c.key)
      encoding.writeVarString(e, c.json)
      break
    case 'type':
      encoding.writeVarUint(e, c.typeRef)
      break
    case 'any':
      encoding.writeVarUint(e, c.values.length)
      for (const v of c.values) encoding.writeAny(e, v)
      break
    case 'doc':
      encoding.writeVarString(e, c.guid)
      encoding.writeAny(e, {})
      break
  }
}

/** Writes one struct (as `Item.write`, `GC.write`, `Skip.write` do with offset 0). */
export function writeStruct(e: encoding.Encoder, s: RawStruct): void {
  if (s.kind === 'gc') {
    encoding.writeUint8(e, 0)
    encoding.writeVarUint(e, s.length)
    return
  }
  if (s.kind === 'skip') {
    encoding.writeUint8(e, 10)
    encoding.writeVarUint(e, s.length)
    return
  }
  const info =
    REF[s.content.type] |
    (s.origin != null ? 0x80 : 0) |
    (s.rightOrigin != null ? 0x40 : 0) |
    (s.key != null ? 0x20 : 0)
  encoding.writeUint8(e, info)
  if (s.origin != null) {
    encoding.writeVarUint(e, s.origin[0])
    encoding.writeVarUint(e, s.origin[1])
  }
  if (s.rightOrigin != null) {
    encoding.writeVarUint(e, s.rightOrigin[0])
    encoding.writeVarUint(e, s.rightOrigin[1])
  }
  if (s.origin == null && s.rightOrigin == null) {
    const parent = s.parent ?? 'listings'
    if (typeof parent === 'string') {
      encoding.writeVarUint(e, 1)
      encoding.writeVarString(e, parent)
    } else {
      encoding.writeVarUint(e, 0)
      encoding.writeVarUint(e, parent[0])
      encoding.writeVarUint(e, parent[1])
    }
    if (s.key != null) encoding.writeVarString(e, s.key)
  }
  writeContent(e, s.content)
}

/** A whole v1 update: struct groups (one per client), then the delete set. */
export function encodeRawUpdate(groups: readonly RawGroup[], deletes: readonly RawDeletes[] = []): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, groups.length)
  for (const g of groups) {
    encoding.writeVarUint(e, g.structs.length)
    encoding.writeVarUint(e, g.client)
    encoding.writeVarUint(e, g.clock)
    for (const s of g.structs) writeStruct(e, s)
  }
  encoding.writeVarUint(e, deletes.length)
  for (const d of deletes) {
    encoding.writeVarUint(e, d.client)
    encoding.writeVarUint(e, d.ranges.length)
    for (const [clock, len] of d.ranges) {
      encoding.writeVarUint(e, clock)
      encoding.writeVarUint(e, len)
    }
  }
  return encoding.toUint8Array(e)
}

/** The first item of a key's chain: an entry of the listings map. */
export const firstEntry = (key: string, bytes: Uint8Array): RawStruct => ({
  kind: 'item',
  key,
  content: { type: 'binary', bytes }
})

/** An item extending the chain of `client` (its origin is the slot before `clock`). */
export const nextEntry = (client: number, clock: number, bytes: Uint8Array): RawStruct => ({
  kind: 'item',
  origin: [client, clock - 1],
  content: { type: 'binary', bytes }
})

/** A run of superseded history, extending the chain of `client` at `clock` (or starting it, with `key`). */
export const history = (client: number, clock: number, length: number, key?: string): RawStruct =>
  clock === 0
    ? { kind: 'item', key: key ?? '', content: { type: 'deleted', length } }
    : { kind: 'item', origin: [client, clock - 1], content: { type: 'deleted', length } }
