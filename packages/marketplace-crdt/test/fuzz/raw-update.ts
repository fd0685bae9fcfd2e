import type { Prng } from '@betar/fuzz'
import { entryClientId } from '../../src/index.ts'
import { encodeRawUpdate, type RawContent, type RawDeletes, type RawGroup, type RawStruct } from '../helpers/yjs-raw.ts'

/** What the generator draws from: the market's keys and signed records. */
export interface RawMaterial {
  keys: string[]
  records: Uint8Array[]
}

function content(r: Prng, m: RawMaterial): RawContent {
  switch (r.below(10)) {
    case 0:
      return { type: 'deleted', length: r.pick([1, 2, 3, 1_000, 2 ** 31]) }
    case 1:
      return { type: 'json', values: ['{}'] }
    case 2:
      return { type: 'string', text: 'x' }
    case 3:
      return { type: 'any', values: [r.pick(['a', 1, null])] }
    case 4:
      return { type: 'type', typeRef: r.below(7) }
    case 5:
      return { type: r.pick(['embed', 'format', 'doc'] as const), json: '{}', key: 'k', guid: 'g' } as RawContent
    default: {
      const bytes = r.pick(m.records)
      return { type: 'binary', bytes: r.chance(0.8) ? bytes : bytes.subarray(0, r.below(bytes.byteLength)) }
    }
  }
}

function struct(r: Prng, m: RawMaterial, client: number, clock: number): RawStruct {
  const roll = r.below(10)
  if (roll === 0) return { kind: r.chance(0.5) ? 'gc' : 'skip', length: r.pick([1, 2, 5]) }
  const c = content(r, m)
  if (roll < 5 || clock === 0) {
    const parent = r.chance(0.85) ? 'listings' : r.pick<string | [number, number]>(['listi_gs', '', [client, 0]])
    return { kind: 'item', parent, key: r.chance(0.9) ? r.pick(m.keys) : `${r.pick(m.keys)}x`, content: c }
  }
  const origin: [number, number] = [r.chance(0.9) ? client : r.u32() >>> 1, clock - 1]
  return r.chance(0.1)
    ? { kind: 'item', origin, rightOrigin: [client, clock + 1], content: c }
    : { kind: 'item', origin, content: c }
}

/**
 * A Yjs v1 update written struct by struct (test/helpers/yjs-raw.ts): entries of the market's keys under their own
 * Yjs clients or others, at clocks around the ones held, carrying signed records (whole or cut), other content types,
 * other parents, GC and Skip runs, and delete ranges — updates a byte-level mutation of the seeds rarely reaches.
 */
export function rawUpdate(r: Prng, m: RawMaterial): Uint8Array {
  const groups: RawGroup[] = []
  for (let g = r.int(0, 3); g > 0; g--) {
    const key = r.pick(m.keys)
    const client = r.chance(0.8) ? entryClientId(key) : r.pick([0, 1, r.u32() >>> 1, 2 ** 53 - 1])
    const clock = r.pick([0, 0, 1, 2, 3, 100])
    const structs = Array.from({ length: r.int(1, 4) }, (_, i) => struct(r, m, client, clock + i))
    groups.push({ client, clock, structs })
  }
  const deletes: RawDeletes[] = []
  for (let d = r.below(3); d > 0; d--) {
    const client = r.chance(0.8) ? entryClientId(r.pick(m.keys)) : r.u32() >>> 1
    deletes.push({ client, ranges: [[r.pick([0, 1, 2, 3]), r.pick([0, 1, 2, 2 ** 30])]] })
  }
  return encodeRawUpdate(groups, deletes)
}
