import { parseDecimalAmount } from '@betar/devnet'
import { formatUnits } from 'viem'
import { z } from 'zod'

/** USDC decimals (6 on every network Betar trades on). */
const USDC_DECIMALS = 6

/**
 * A price in decimal USDC, as the CLI takes it: a string like `"0.25"` (at most 6 decimals) → atomic units (bigint).
 * JSON numbers are refused: they were atomic units in earlier versions of this API, and floats round.
 */
export const UsdcSchema = z
  .string({ error: 'expected decimal USDC as a string, e.g. "0.25" (atomic units go in the …Atomic field)' })
  .regex(/^\d{1,24}(\.\d{1,6})?$/, 'expected decimal USDC with at most 6 decimals, e.g. "0.25"')
  .transform((v) => parseDecimalAmount(v, USDC_DECIMALS, 'USDC'))

/** Atomic USDC units (1 = 0.000001 USDC), as x402 and the listings carry them: a decimal integer string or a safe integer. */
export const AtomicSchema = z
  .union([z.string().regex(/^\d{1,30}$/, 'expected a non-negative integer'), z.number().int().nonnegative()])
  .transform((v) => BigInt(v))

/** Atomic units shown as decimal USDC, e.g. `250000n` → `"0.25"`. */
export function usdcString(atomic: bigint | string): string {
  return formatUnits(BigInt(atomic), USDC_DECIMALS)
}

/**
 * The buyer's cap in atomic units from `{ maxPrice?, maxPriceAtomic? }` (decimal USDC or atomic units; at most one is
 * given — the schemas refuse both), or `undefined` when neither is.
 */
export function capOf(body: {
  maxPrice?: bigint | undefined
  maxPriceAtomic?: bigint | undefined
}): bigint | undefined {
  return body.maxPriceAtomic ?? body.maxPrice
}
