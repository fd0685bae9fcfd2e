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

function violations(r: PaymentRequirements, p: PaymentPolicy): string[] {
  const out: string[] = []
  const extra = (r.extra ?? {}) as Record<string, unknown>
  if (r.scheme !== 'exact') out.push(`scheme ${r.scheme} is not exact`)
  if (r.network !== p.asset.network) out.push(`network ${r.network} is not ${p.asset.network}`)
  if (!isAddress(r.asset, { strict: false }) || getAddress(r.asset) !== getAddress(p.asset.address)) {
    out.push(`asset ${r.asset} is not ${p.asset.address}`)
  }
  if (extra.name !== p.asset.name || extra.version !== p.asset.version) {
    out.push(`token domain ${String(extra.name)}/${String(extra.version)} is not ${p.asset.name}/${p.asset.version}`)
  }
  if (!isAddress(r.payTo, { strict: false }) || getAddress(r.payTo) !== getAddress(p.payTo)) {
    out.push(`payTo ${r.payTo} is not the expected payee ${p.payTo}`)
  }
  let amount: bigint | undefined
  try {
    amount = BigInt(r.amount)
  } catch {
    out.push(`amount ${r.amount} is not an integer`)
  }
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
