import { attempt, type FuzzTarget, typedBy } from '@betar/fuzz'
import type { PaymentRequirements, SettleResponse } from '@x402/core/types'
import { getAddress } from 'viem'
import { approve } from '../../src/client/approval.ts'
import { remoteError } from '../../src/client/client.ts'
import { jsonBytes } from '../../src/json.ts'
import { parsePaymentRequiredBytes, parseSettleResponseBytes } from '../../src/payment.ts'
import { detailsSeeds, paymentRequiredSeed, policy, settlementSeed } from './seeds.ts'

const isProtocolViolation = typedBy('ProtocolViolationError')
const isNotApproved = typedBy('PaymentNotApprovedError')

interface Read {
  approved?: PaymentRequirements
  settlement?: SettleResponse
}

/** What the caller approved (spec §6), checked again on the requirement the client would sign. */
function violation(r: PaymentRequirements): string | undefined {
  const extra = (r.extra ?? {}) as Record<string, unknown>
  if (r.scheme !== 'exact' || r.network !== policy.asset.network) return 'scheme or network'
  if (getAddress(r.asset) !== policy.asset.address || getAddress(r.payTo) !== policy.payTo) return 'asset or payee'
  if (extra.name !== policy.asset.name || extra.version !== policy.asset.version) return 'token domain'
  if (!/^[1-9][0-9]*$/.test(r.amount) || BigInt(r.amount) > policy.maxAmount) return 'amount'
  if (!Number.isInteger(r.maxTimeoutSeconds) || r.maxTimeoutSeconds <= 0 || r.maxTimeoutSeconds > 300) return 'timeout'
  return undefined
}

/**
 * The JSON a buyer reads from a seller over `/x402/libp2p/2.0.0`: a PaymentRequired (then approval and the payment
 * payload that echoes the approved requirement), a SettleResponse, and ERROR details. Each input goes to all three.
 */
export const v2ClientJson: FuzzTarget = {
  name: 'x402-v2-client-json',
  cost: 'heavy',
  formats: ['json'],
  maxLength: 20 * 1024,
  seeds: () => [paymentRequiredSeed, settlementSeed, ...detailsSeeds],
  run(input): Read {
    const out: Read = {}
    const required = attempt(() => parsePaymentRequiredBytes(input), isProtocolViolation)
    if (required != null) {
      const approved = attempt(() => approve(required.accepts, policy), isNotApproved)
      if (approved != null) {
        out.approved = approved
        jsonBytes({ x402Version: 2, accepted: approved, payload: {} }) // what the client signs and sends
      }
    }
    const settlement = attempt(() => parseSettleResponseBytes(input), isProtocolViolation)
    if (settlement != null) out.settlement = settlement
    remoteError({ code: 2000, name: 'PAYMENT_REQUIRED', message: '', retryable: true, details: input })
    return out
  },
  isTyped: () => false,
  check(_, out) {
    const { approved, settlement } = out as Read
    if (approved != null) return violation(approved)
    if (settlement != null && typeof settlement.success !== 'boolean') return 'settlement success'
    return undefined
  }
}
