import { attempt, type FuzzTarget, typedBy } from '@betar/fuzz'
import { decodeV1RequestBody } from '../../src/v1/bodies.ts'
import { V1_MESSAGE_TYPES } from '../../src/v1/constants.ts'
import { decodeV1Message, type V1Message } from '../../src/v1/messages.ts'
import { v1JsonSeeds } from './seeds.ts'
import { roundTripViolation } from './v1-json.ts'

const isTyped = typedBy('InvalidV1MessageError')
const TYPES = [V1_MESSAGE_TYPES.request, V1_MESSAGE_TYPES.paidRequest] as const

/** What a 1.0.0 seller reads from a buyer: `x402.request` and `x402.paid_request` (each input as both), and the body. */
export const v1JsonServer: FuzzTarget = {
  name: 'x402-v1-json-server',
  cost: 'heavy',
  formats: ['json'],
  seeds: () => v1JsonSeeds(TYPES),
  run(input) {
    const out: Array<[(typeof TYPES)[number], V1Message]> = []
    for (const type of TYPES) {
      const msg = attempt(() => decodeV1Message(type, input), isTyped)
      if (msg == null) continue
      out.push([type, msg])
      attempt(() => decodeV1RequestBody((msg as { body: Uint8Array | null }).body), isTyped)
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
