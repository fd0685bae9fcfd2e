import type { Address } from 'viem'

/** A Bayesian prior: the mean a score shrinks toward and how many "virtual full-weight votes" it is worth. */
export interface Prior {
  mean: number
  weight: number
}

/** Default priors: `starred` (0–100) shrinks toward 50 with the weight of one full vote; other tags have none. */
export const DEFAULT_PRIORS: Readonly<Record<string, Prior>> = { starred: { mean: 50, weight: 1 } }

/** Default decay half-life: 30 days. */
export const DEFAULT_HALF_LIFE_SECONDS = 30 * 24 * 3600

/** One counted (verified, non-revoked, non-excluded, non-duplicate) feedback, the input of {@link scoreTag}. */
export interface CountedFeedback {
  clientAddress: Address
  /** `value / 10^valueDecimals` */
  value: number
  /** Verified payment in the asset's base units. */
  paid: bigint
  /** Block timestamp, unix seconds. */
  timestamp: number
}

/** Parameters of {@link scoreTag}. */
export interface ScoreParameters {
  /** Scoring time, unix seconds. */
  now: number
  halfLifeSeconds: number
  assetDecimals: number
  prior: Prior
}

/** The result of {@link scoreTag}: the score of one `tag1` from its counted feedback. */
export interface TagScore {
  /** Shrunk, weighted score; `null` when there is neither a vote nor a prior. */
  score: number | null
  /** Distinct clients counted (one vote each). */
  count: number
  /** Feedback entries behind those votes. */
  entries: number
  /** Sum of verified payments, in the asset's base units. */
  paidVolume: bigint
  /** Sum of client weights Σ W_c. */
  weight: number
  /** Σ W_c / (Σ W_c + prior weight), in [0, 1]. */
  confidence: number
}

/** The reputation of an agent for one `tag1`, as `summary` reports it. */
export interface TagSummary extends TagScore {
  /**
   * Feedback entries whose file could not be loaded now (`unloadable`: e.g. stored only on an offline peer). They are
   * not in the score — neither counted nor weighed — and are reported here so a reader knows the score may change
   * once they can be checked.
   */
  unverified: number
}

/**
 * Scores one tag. For each client c with counted entries E_c:
 * v_c = mean of its values, P_c = Σ paid (token units), t_c = its latest entry time,
 * W_c = ln(1 + P_c) · 2^(−(now − t_c) / halfLife).
 * score = (m·μ + Σ W_c·v_c) / (m + Σ W_c), confidence = Σ W_c / (m + Σ W_c), with prior (μ, m).
 * Clients are summed in address order so the result is deterministic.
 */
export function scoreTag(entries: readonly CountedFeedback[], params: ScoreParameters): TagScore {
  const byClient = new Map<Address, CountedFeedback[]>()
  for (const e of entries) {
    const list = byClient.get(e.clientAddress) ?? []
    list.push(e)
    byClient.set(e.clientAddress, list)
  }
  const unit = 10 ** params.assetDecimals
  let weight = 0
  let weighted = 0
  let paidVolume = 0n
  for (const client of [...byClient.keys()].sort()) {
    const list = byClient.get(client) ?? []
    const value = list.reduce((s, e) => s + e.value, 0) / list.length
    const paid = list.reduce((s, e) => s + e.paid, 0n)
    const latest = Math.max(...list.map((e) => e.timestamp))
    const age = Math.max(0, params.now - latest)
    const w = Math.log1p(Number(paid) / unit) * 2 ** (-age / params.halfLifeSeconds)
    weight += w
    weighted += w * value
    paidVolume += paid
  }
  const m = params.prior.weight
  const denominator = m + weight
  return {
    score: denominator > 0 ? (m * params.prior.mean + weighted) / denominator : null,
    count: byClient.size,
    entries: entries.length,
    paidVolume,
    weight,
    confidence: denominator > 0 ? weight / denominator : 0
  }
}
