import type { Fees } from './sender.ts'

/** What a replacement may offer. */
export interface ReplacementPolicy {
  /** Raise over the replaced transaction's fees, in percent. */
  bumpPercent: number
  /** Cap, as a multiple of the settlement's first transaction's fees, unless the market is above it. */
  maxBumpFactor: number
  /** Absolute cap on `maxFeePerGas` (wei), whatever the market. */
  maxFeePerGas?: bigint
}

/** The least raise over a pending transaction's fees that geth, reth and anvil accept as a replacement. */
const MIN_REPLACEMENT_PERCENT = 10n

const raise = (fee: bigint, percent: bigint): bigint => (fee * (100n + percent) + 99n) / 100n
const max = (a: bigint, b: bigint): bigint => (a > b ? a : b)
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b)

/**
 * EIP-1559 fees for replacing the transaction signed with `old` (spec §7.3): each field raised by `bumpPercent` over
 * `old` and at least the `market`'s; capped at the larger of `maxBumpFactor` × the first transaction's fees and the
 * market's — so replacements follow a real fee rise but never compound past it — and at the operator's `maxFeePerGas`.
 * `undefined` when the cap leaves less than the 10 % raise a node needs to accept a replacement.
 */
export function replacementFees(old: Fees, first: Fees, market: Fees, policy: ReplacementPolicy): Fees | undefined {
  const percent = BigInt(policy.bumpPercent)
  const factor = BigInt(policy.maxBumpFactor)
  const field = (k: keyof Fees): bigint | undefined => {
    let cap = max(first[k] * factor, market[k])
    if (policy.maxFeePerGas != null) cap = min(cap, policy.maxFeePerGas)
    const wanted = min(max(raise(old[k], percent), market[k]), cap)
    return wanted >= raise(old[k], MIN_REPLACEMENT_PERCENT) ? wanted : undefined
  }
  const maxFeePerGas = field('maxFeePerGas')
  const maxPriorityFeePerGas = field('maxPriorityFeePerGas')
  if (maxFeePerGas == null || maxPriorityFeePerGas == null) return undefined
  return { maxFeePerGas: max(maxFeePerGas, maxPriorityFeePerGas), maxPriorityFeePerGas }
}
