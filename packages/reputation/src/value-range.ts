/**
 * The values a tag's feedback may take to count, in the tag's own units (`value / 10^valueDecimals`). ERC-8004's
 * registry accepts any `|value| ≤ 1e38` with any tag; a tag whose meaning has a range (Betar's `starred` rating is
 * 0–100) must not let one paying client move its mean arbitrarily far: −1e38 from one client sank an agent rated 100 by
 * twenty to −6.7e34 (review of issue 13). Tags not listed are unbounded.
 */
export const TAG_VALUE_RANGES: Readonly<Record<string, { min: number; max: number }>> = Object.freeze({
  starred: { min: 0, max: 100 }
})

/** Whether `value / 10^valueDecimals` is within `tag1`'s range ({@link TAG_VALUE_RANGES}); true for unlisted tags. */
export function valueInRange(tag1: string, value: bigint, valueDecimals: number): boolean {
  const range = Object.hasOwn(TAG_VALUE_RANGES, tag1) ? TAG_VALUE_RANGES[tag1] : undefined
  if (range == null) return true
  const v = Number(value) / 10 ** valueDecimals
  return Number.isFinite(v) && v >= range.min && v <= range.max
}
