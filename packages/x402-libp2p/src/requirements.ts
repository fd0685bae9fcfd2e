import { exceedsValueDepth } from '@betar/bounded-json'
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types'
import { type Address, getAddress, keccak256, toBytes } from 'viem'
import { DEFAULT_MAX_TIMEOUT_SECONDS, MAX_X402_JSON_DEPTH } from './constants.ts'
import { X402Error } from './errors.ts'

/** The token a seller is paid in, with its EIP-712 domain (x402 `extra.name` / `extra.version`). */
export interface PaymentAsset {
  /** CAIP-2 network, e.g. `eip155:8453`. */
  network: `eip155:${number}`
  /** ERC-20 with EIP-3009 (USDC). */
  address: Address
  /** The token's EIP-712 `name()`, e.g. "USD Coin" on Base, "USDC" on Base Sepolia. */
  name: string
  /** The token's EIP-712 `version()`, "2" for USDC. */
  version: string
}

/** What one call of a resource costs. */
export interface Price {
  /** Atomic token units (USDC has 6 decimals: 10000 = 0.01 USDC). */
  amount: bigint | number | string
  /** Defaults to the server's asset. */
  asset?: PaymentAsset
  /** Defaults to the server's payee (its settling wallet). */
  payTo?: Address
  /** @default 60 */
  maxTimeoutSeconds?: number
}

/**
 * The x402 v2 `exact` requirements for a price. Key order is fixed (scheme, network, amount, asset, payTo,
 * maxTimeoutSeconds, extra) so that the JSON a seller emits — and a buyer echoes — is stable.
 */
export function buildRequirements(price: Price, asset: PaymentAsset, payTo: Address): PaymentRequirements {
  const amount = BigInt(price.amount)
  if (amount <= 0n) throw new RangeError('a paid resource must cost more than 0')
  const a = price.asset ?? asset
  const maxTimeoutSeconds = price.maxTimeoutSeconds ?? DEFAULT_MAX_TIMEOUT_SECONDS
  if (!Number.isInteger(maxTimeoutSeconds) || maxTimeoutSeconds <= 0) throw new RangeError('bad maxTimeoutSeconds')
  return {
    scheme: 'exact',
    network: a.network,
    amount: amount.toString(),
    asset: getAddress(a.address),
    payTo: getAddress(price.payTo ?? payTo),
    maxTimeoutSeconds,
    extra: { name: a.name, version: a.version }
  }
}

/** Canonical JSON (object keys sorted) — for hashing and deep equality. Recursive: bound the depth of peer values first. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    v != null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v
  )
}

/** keccak256 of the canonical JSON of a requirement: binds a challenge to exactly what was offered. */
export function requirementsHash(requirements: PaymentRequirements): `0x${string}` {
  return keccak256(toBytes(canonicalJson(requirements)))
}

/**
 * Matches the buyer's `accepted` against what the server offers, as x402's resource server does: every core field
 * equal (case-sensitive strings), and every offered `extra` key present and equal. On mismatch, the error names the
 * first field that differs, in the order network, asset, payTo, amount (spec §5 step 6).
 */
export function matchAccepted(payload: PaymentPayload, offered: readonly PaymentRequirements[]): PaymentRequirements {
  const accepted = payload.accepted
  // Compared through canonical JSON, which recurses: a payload that did not come through parseExactPayment may nest
  // deeper than that bound.
  if (exceedsValueDepth(accepted, MAX_X402_JSON_DEPTH)) {
    throw X402Error.of('PAYMENT_INVALID', `accepted requirements nest more than ${MAX_X402_JSON_DEPTH} levels deep`)
  }
  const exact = offered.find((r) => sameRequirement(accepted, r))
  if (exact != null) return exact
  const byNetwork = offered.filter((r) => r.network === accepted.network)
  if (byNetwork.length === 0) throw X402Error.of('NETWORK_WRONG', `network ${accepted.network} is not accepted`)
  const byAsset = byNetwork.filter((r) => r.asset === accepted.asset)
  if (byAsset.length === 0) throw X402Error.of('ASSET_WRONG', `asset ${accepted.asset} is not accepted`)
  const byPayee = byAsset.filter((r) => r.payTo === accepted.payTo)
  if (byPayee.length === 0) throw X402Error.of('PAYEE_WRONG', `payTo ${accepted.payTo} is not this seller`)
  const byAmount = byPayee.filter((r) => r.amount === accepted.amount)
  if (byAmount.length === 0) {
    throw X402Error.of(
      'AMOUNT_WRONG',
      `amount ${accepted.amount} differs from ${byPayee.map((r) => r.amount).join(', ')}`
    )
  }
  throw X402Error.of('PAYMENT_INVALID', 'accepted requirements differ from the offer (scheme, timeout or extra)')
}

function sameRequirement(accepted: PaymentRequirements, offered: PaymentRequirements): boolean {
  if (
    accepted.scheme !== offered.scheme ||
    accepted.network !== offered.network ||
    accepted.amount !== offered.amount ||
    accepted.asset !== offered.asset ||
    accepted.payTo !== offered.payTo ||
    accepted.maxTimeoutSeconds !== offered.maxTimeoutSeconds
  ) {
    return false
  }
  const extra = (accepted.extra ?? {}) as Record<string, unknown>
  return Object.entries(offered.extra ?? {}).every(([k, v]) => canonicalJson(extra[k]) === canonicalJson(v))
}
