import type { PaymentRequirements } from '@x402/core/types'
import { type Address, getAddress, isAddress } from 'viem'
import { PaymentNotApprovedError } from '../errors.ts'
import type { PaymentAsset } from '../requirements.ts'

/** What the caller approved for one call (spec §6). */
export interface PaymentPolicy {
  /** Most the caller will pay, in atomic token units. */
  maxAmount: bigint
  /** The payee the caller expects (from the seller's signed listing or its ERC-8004 agentWallet). */
  payTo: Address
  /** Token and network the client pays with. */
  asset: PaymentAsset
  /** Longest authorization the client signs. */
  maxTimeoutSeconds: number
}

/** An amount in atomic units as x402 writes it: a decimal integer, no sign, no leading zero, no padding. */
const DECIMAL = /^(0|[1-9][0-9]{0,77})$/

/** A peer's value for a message: `String()` throws on an object whose `toString` is not a function. */
function show(value: unknown): string {
  if (typeof value === 'string') return value
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return typeof value
  }
}

function violations(r: PaymentRequirements, p: PaymentPolicy): string[] {
  const out: string[] = []
  const extra = (r.extra ?? {}) as Record<string, unknown>
  if (r.scheme !== 'exact') out.push(`scheme ${r.scheme} is not exact`)
  if (r.network !== p.asset.network) out.push(`network ${r.network} is not ${p.asset.network}`)
  if (!isAddress(r.asset, { strict: false }) || getAddress(r.asset) !== getAddress(p.asset.address)) {
    out.push(`asset ${r.asset} is not ${p.asset.address}`)
  }
  if (extra.name !== p.asset.name || extra.version !== p.asset.version) {
    out.push(`token domain ${show(extra.name)}/${show(extra.version)} is not ${p.asset.name}/${p.asset.version}`)
  }
  if (!isAddress(r.payTo, { strict: false }) || getAddress(r.payTo) !== getAddress(p.payTo)) {
    out.push(`payTo ${r.payTo} is not the expected payee ${p.payTo}`)
  }
  // BigInt() also reads " 10000" and "0x2710": the amount is signed as the seller wrote it, which must be canonical
  const amount = DECIMAL.test(String(r.amount)) ? BigInt(r.amount) : undefined
  if (amount == null) out.push(`amount ${show(r.amount)} is not a decimal integer`)
  if (amount != null && (amount <= 0n || amount > p.maxAmount))
    out.push(`amount ${r.amount} exceeds the approved ${p.maxAmount}`)
  if (!Number.isInteger(r.maxTimeoutSeconds) || r.maxTimeoutSeconds <= 0 || r.maxTimeoutSeconds > p.maxTimeoutSeconds) {
    out.push(`maxTimeoutSeconds ${r.maxTimeoutSeconds} is over the cap of ${p.maxTimeoutSeconds}`)
  }
  return out
}

/**
 * Picks the first offered requirement the caller approved. Throws {@link PaymentNotApprovedError} listing every
 * violated rule of every offer when none fits — before anything is signed.
 */
export function approve(accepts: readonly PaymentRequirements[], policy: PaymentPolicy): PaymentRequirements {
  if (accepts.length === 0) throw new PaymentNotApprovedError(['the seller offered no payment option'])
  const all: string[] = []
  for (const [i, r] of accepts.entries()) {
    const v = violations(r, policy)
    if (v.length === 0) return r
    all.push(...v.map((s) => (accepts.length > 1 ? `option ${i}: ${s}` : s)))
  }
  throw new PaymentNotApprovedError(all)
}
