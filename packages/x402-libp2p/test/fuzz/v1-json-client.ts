import { attempt, type FuzzTarget, typedBy } from '@betar/fuzz'
import { approve } from '../../src/client/approval.ts'
import { fromV1Requirements } from '../../src/client/v1.ts'
import { jsonBytes } from '../../src/json.ts'
import { decodeV1ResponseBody } from '../../src/v1/bodies.ts'
import { V1_MESSAGE_TYPES } from '../../src/v1/constants.ts'
import { decodeV1Message, type V1Message } from '../../src/v1/messages.ts'
import { policy, v1JsonSeeds } from './seeds.ts'
import { roundTripViolation } from './v1-json.ts'

const isTyped = typedBy('InvalidV1MessageError')
const TYPES = [V1_MESSAGE_TYPES.paymentRequired, V1_MESSAGE_TYPES.response, V1_MESSAGE_TYPES.error] as const

/**
 * What a 1.0.0 buyer reads from a seller: `x402.payment_required` (then approval of its requirements, kept in the
 * call journal as JSON), `x402.response` (and its body) and `x402.error` — each input as all three.
 */
export const v1JsonClient: FuzzTarget = {
  name: 'x402-v1-json-client',
  cost: 'heavy',
  formats: ['json'],
  seeds: () => v1JsonSeeds(TYPES),
  run(input) {
    const out: Array<[(typeof TYPES)[number], V1Message]> = []
    for (const type of TYPES) {
      const msg = attempt(() => decodeV1Message(type, input), isTyped)
      if (msg == null) continue
      out.push([type, msg])
      if ('payment_requirements' in msg && msg.payment_requirements != null) {
        const offer = fromV1Requirements(msg.payment_requirements)
        const approved = attempt(() => approve([offer], policy), typedBy('PaymentNotApprovedError'))
        if (approved != null) jsonBytes(approved)
      }
      if (type === V1_MESSAGE_TYPES.response) decodeV1ResponseBody((msg as { body: Uint8Array | null }).body)
    }
    return out
  },
  isTyped: () => false,
  check(_, out) {
    for (const [type, msg] of out as Array<[(typeof TYPES)[number], V1Message]>) {
      const problem = roundTripViolation(type, msg)
      if (problem != null) return problem
    }
    return undefined
  }
}
