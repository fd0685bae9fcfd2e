import { FaucetRequestError } from './errors.ts'

/**
 * Parses a non-negative decimal amount (`"100"`, `"0.25"`) into atomic units of a token with `decimals` decimals
 * (USDC: 6, ETH: 18). More fraction digits than `decimals`, signs, exponents or spaces inside are refused.
 *
 * @throws {@link FaucetRequestError} naming `what`
 */
export function parseDecimalAmount(value: string, decimals: number, what: string): bigint {
  const match = /^(\d{1,30})(?:\.(\d+))?$/.exec(value.trim())
  const fraction = match?.[2] ?? ''
  if (match == null || fraction.length > decimals) {
    throw new FaucetRequestError(
      `${what} must be a decimal amount with at most ${decimals} decimals, like 0.25, got "${value.slice(0, 40)}"`
    )
  }
  return BigInt(match[1] ?? '0') * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0')
}
