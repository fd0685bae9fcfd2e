import { type FuzzTarget, typedBy } from '@betar/fuzz'
import { remoteError } from '../../src/client/client.ts'
import { CORRELATION_ID_PATTERN, MAX_RESOURCE_LENGTH, MAX_X402_JSON_SIZE } from '../../src/constants.ts'
import { decodeWireMessage, encodeWireMessage, type WireMessage } from '../../src/wire.ts'
import { frameSeeds } from './seeds.ts'

const limits = { maxBodySize: 64 * 1024 }
const utf8 = new TextEncoder()

function same(a: unknown, b: unknown): boolean {
  return (
    JSON.stringify(a, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)) ===
    JSON.stringify(b, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))
  )
}

/** What spec §3 bounds, checked again on what the decoder accepted. */
function violation(m: WireMessage): string | undefined {
  if (!CORRELATION_ID_PATTERN.test(m.correlationId)) return 'correlation id syntax'
  if ('request' in m) {
    const n = utf8.encode(m.request.resource).byteLength
    if (n === 0 || n > MAX_RESOURCE_LENGTH) return 'resource length'
    if (m.request.body.byteLength > limits.maxBodySize) return 'body size'
    if ((m.type === 'PAID_REQUEST') !== (m.request.payment != null && m.request.payment.byteLength > 0))
      return 'payment presence'
  }
  if ('paymentRequired' in m) {
    if (m.paymentRequired.challenge.byteLength !== 32) return 'challenge length'
    if (m.paymentRequired.paymentRequired.byteLength > MAX_X402_JSON_SIZE) return 'payment_required size'
    if (m.paymentRequired.expiresAt < 0n || m.paymentRequired.expiresAt >= 2n ** 64n) return 'expires_at range'
  }
  if ('response' in m && m.response.settlement.byteLength > MAX_X402_JSON_SIZE) return 'settlement size'
  if ('error' in m && (m.error.message.length > 4096 || m.error.name.length > 64)) return 'error text length'
  // What the encoder writes back must decode to the same message (issue 13, fault 5: expires_at from 2^31).
  if (!same(decodeWireMessage(encodeWireMessage(m), limits), m)) return 'the re-encoded frame decodes differently'
  return undefined
}

/** `/x402/libp2p/2.0.0` frames (both directions), and a client's reading of ERROR details. */
export const v2Frame: FuzzTarget = {
  name: 'x402-v2-frame',
  cost: 'cheap',
  formats: ['protobuf'],
  seeds: frameSeeds,
  run(input) {
    const m = decodeWireMessage(input, limits)
    if (m.type === 'ERROR') remoteError(m.error)
    return m
  },
  isTyped: typedBy('ProtocolViolationError'),
  check: (_, m) => violation(m as WireMessage)
}
