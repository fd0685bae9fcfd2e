import type { Hash } from 'viem'
import type { FeedbackRecord } from './records.ts'
import { type CountedFeedback, type Prior, scoreTag, type TagSummary } from './score.ts'
import { valueInRange } from './value-range.ts'
import type { RejectionReason } from './verify.ts'

/** The scorer's verdict on one feedback. */
export type FeedbackStatus =
  /** In the score. */
  | 'counted'
  /** Checked and dropped for good (revoked, excluded, bad file, no valid payment…): see `reason`. */
  | 'rejected'
  /** Its file could not be loaded now (`reason: 'unloadable'`): not in the score, reported in `TagSummary.unverified`. */
  | 'unverified'

/** One indexed feedback with the scorer's verdict. */
export interface ScoredFeedback extends FeedbackRecord {
  /** Whether it counts toward the score (`status === 'counted'`). */
  counted: boolean
  status: FeedbackStatus
  /** Why it does not count. */
  reason?: RejectionReason
  /** Verified payment in base units (0 when not verified). */
  paid: bigint
  /** The proof's transaction, when the file could be read. */
  paymentTx?: Hash
}

/** Parameters of {@link summarize}. */
export interface SummarizeParameters {
  /** Only these `tag1` values, each reported even without feedback. @default every tag seen */
  tags?: readonly string[]
  /** Scoring time, unix seconds. */
  now: number
  halfLifeSeconds: number
  assetDecimals: number
  /** Priors per `tag1`; tags without one get `{ mean: 0, weight: 0 }`. */
  priors: Readonly<Record<string, Prior>>
}

/**
 * Scores every `tag1` of `scored` with {@link scoreTag} over its counted entries, and counts its unverified ones apart.
 * Tags are returned in sorted order.
 */
export function summarize(scored: readonly ScoredFeedback[], params: SummarizeParameters): Record<string, TagSummary> {
  const byTag = new Map<string, { counted: CountedFeedback[]; unverified: number }>()
  const bucket = (tag: string) => {
    let b = byTag.get(tag)
    if (b == null) {
      b = { counted: [], unverified: 0 }
      byTag.set(tag, b)
    }
    return b
  }
  for (const tag of params.tags ?? []) bucket(tag)
  const only = params.tags != null ? new Set(params.tags) : undefined
  for (const f of scored) {
    if (only != null && !only.has(f.tag1)) continue
    const b = bucket(f.tag1)
    if (f.status === 'unverified') b.unverified++
    // A second guard for entries marked counted elsewhere: a value outside its tag's range never moves the score.
    if (f.counted && valueInRange(f.tag1, f.value, f.valueDecimals)) {
      b.counted.push({
        clientAddress: f.clientAddress,
        value: Number(f.value) / 10 ** f.valueDecimals,
        paid: f.paid,
        timestamp: f.timestamp
      })
    }
  }
  const result: Record<string, TagSummary> = {}
  for (const tag of [...byTag.keys()].sort()) {
    const b = bucket(tag)
    result[tag] = {
      ...scoreTag(b.counted, {
        now: params.now,
        halfLifeSeconds: params.halfLifeSeconds,
        assetDecimals: params.assetDecimals,
        prior: params.priors[tag] ?? { mean: 0, weight: 0 }
      }),
      unverified: b.unverified
    }
  }
  return result
}
