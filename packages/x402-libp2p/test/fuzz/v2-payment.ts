import { exceedsValueDepth } from '@betar/bounded-json'
import { type FuzzTarget, typedBy } from '@betar/fuzz'
import type { PaymentRequirements } from '@x402/core/types'
import { getAddress } from 'viem'
import { MAX_X402_JSON_DEPTH } from '../../src/constants.ts'
import { jsonBytes } from '../../src/json.ts'
import { type ExactPayment, parseExactPayment } from '../../src/payment.ts'
import { canonicalJson, matchAccepted } from '../../src/requirements.ts'
import { offered, paymentSeed } from './seeds.ts'

const UINT = /^(0|[1-9][0-9]{0,77})$/

function violation(p: ExactPayment, matched: PaymentRequirements): string | undefined {
  const a = p.authorization
  if (a.from !== getAddress(a.from) || a.to !== getAddress(a.to)) return 'authorization addresses not checksummed'
  for (const k of ['value', 'validAfter', 'validBefore'] as const) if (!UINT.test(a[k])) return `authorization ${k}`
  if (!/^0x[0-9a-f]{64}$/.test(a.nonce)) return 'nonce'
  if (!/^0x[0-9a-fA-F]+$/.test(p.signature) || p.signature.length < 132) return 'signature'
  if (p.payload.x402Version !== 2 || p.payload.accepted.scheme !== 'exact') return 'version or scheme'
  if (canonicalJson(matched) !== canonicalJson(offered)) return 'matched requirements differ from the offer'
  const accepted = p.payload.accepted
  for (const k of ['network', 'asset', 'payTo', 'amount', 'maxTimeoutSeconds'] as const) {
    if (accepted[k] !== offered[k]) return `accepted ${k} differs from the offer`
  }
  if (exceedsValueDepth(p.payload, MAX_X402_JSON_DEPTH)) return 'payload nests deeper than the bound'
  jsonBytes(p.payload) // stored in the call record: must re-encode
  return undefined
}

/** A seller reading a PAID_REQUEST's payment (spec §5 steps 5–6): parse, then match against its offer. */
export const v2Payment: FuzzTarget = {
  name: 'x402-v2-payment',
  cost: 'heavy',
  formats: ['json'],
  maxLength: 20 * 1024,
  seeds: async () => [await paymentSeed()],
  run(input) {
    const payment = parseExactPayment(input)
    return { payment, matched: matchAccepted(payment.payload, [offered]) }
  },
  isTyped: typedBy('X402Error'),
  check(_, out) {
    const { payment, matched } = out as { payment: ExactPayment; matched: PaymentRequirements }
    return violation(payment, matched)
  }
}
