import { attempt, type FuzzTarget, type Prng, typedBy } from '@betar/fuzz'
import * as Y from 'yjs'
import {
  type ApplyResult,
  DEFAULT_VALIDATION,
  listingKey,
  MarketplaceDoc,
  type SignedRecord,
  validateUpdate
} from '../../src/index.ts'
import { signedRecordViolation } from './listing-check.ts'
import { type RawMaterial, rawUpdate } from './raw-update.ts'
import { buildMarket, type Market, NOW } from './seeds.ts'

const REPLICA = '12D3KooWBAdUmn8JKUy7ogZntEDnJC4FujdWgByHQiMf2PTqe5Eo'
const isTyped = typedBy('RejectedUpdateError', 'InvalidListingError')
const options = { ...DEFAULT_VALIDATION, now: NOW }

let market: Market
let material: RawMaterial
let doc: MarketplaceDoc
let plain: Y.Doc
let accepted = 0
let rootProblem: string | undefined

function fresh(): void {
  doc = new MarketplaceDoc({ peerId: REPLICA, now: () => NOW })
  doc.applyRemote(market.initial)
  plain = new Y.Doc()
  Y.applyUpdate(plain, market.initial)
}

/**
 * Root types of the replica's Yjs documents other than the listings map (issue 13, fault 1: Yjs created one per
 * parent name, for items it then discarded). Reads the document's shards (internal); skipped if they move.
 */
function otherRootTypes(): string | undefined {
  const layout = (doc as unknown as { store?: { layout?: { shards?(): Iterable<{ doc: Y.Doc }> } } }).store?.layout
  if (layout?.shards == null) return undefined
  for (const { doc: shard } of layout.shards()) {
    const names = [...shard.share.keys()].filter((n) => n !== 'listings')
    if (names.length > 0) return `root types other than the listings map: ${names.slice(0, 3).join(', ')}`
  }
  return undefined
}

interface Out {
  validated: { records: Map<string, SignedRecord> } | undefined
  result: ApplyResult
}

async function violation(out: Out): Promise<string | undefined> {
  if (++accepted % 256 === 0) rootProblem ??= otherRootTypes()
  if (rootProblem != null) return rootProblem
  for (const records of [out.result.records, out.validated?.records ?? new Map<string, SignedRecord>()]) {
    for (const [key, { record, bytes }] of records) {
      if (key !== listingKey(record.seller, record.id)) return `entry ${key} holds ${record.seller}/${record.id}`
      const problem = await signedRecordViolation(bytes, record)
      if (problem != null) return problem
    }
  }
  return undefined
}

/**
 * Yjs updates from the network: `validateUpdate` against a plain Y.Doc, then `MarketplaceDoc.applyRemote` (all or
 * nothing, or `partial`) on a replica holding the first publication.
 */
export const update: FuzzTarget = {
  name: 'marketplace-update',
  cost: 'heavy',
  formats: ['varint'],
  maxLength: 64 * 1024,
  timeBoundMs: 1_000,
  async seeds() {
    market = await buildMarket()
    const keys = [
      ...new Set(
        market.sellers.flatMap((s) => ['summarize', 'translate', 'ocr', 'k1'].map((id) => listingKey(s.id, id)))
      )
    ]
    material = { keys, records: market.records }
    fresh()
    return [...market.updates, ...market.hostile]
  },
  mutate: (r: Prng, input) => (r.chance(0.5) ? rawUpdate(r, material) : input),
  run(input): Out {
    const validated = attempt(() => validateUpdate(plain, input, options), isTyped)
    const result = doc.applyRemote(input, { partial: input.byteLength % 2 === 1 })
    return { validated, result }
  },
  isTyped,
  check: (_, out) => violation(out as Out),
  reset() {
    rootProblem ??= otherRootTypes()
    fresh()
  }
}
