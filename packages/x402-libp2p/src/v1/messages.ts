/**
 * The five JSON messages of `/x402/libp2p/1.0.0`, byte-exact with what the Go prototype emits.
 *
 * Read from (not copied):
 * - github.com/asabya/betar @ 793ca029c089786053b0b271d253f72e32d4b4c2 (HEAD, 2026-04-03):
 *   `internal/marketplace/x402.go` (structs X402PaymentEnvelope, X402Request, X402PaymentRequired, X402PaidRequest,
 *   X402Response, X402Error, NewX402Error, error codes, PreemptiveNonce, X402LibP2PVersion),
 *   `internal/p2p/x402stream.go` (framing, marshalError), `internal/p2p/stream.go` (maxMessageTypeLen 128,
 *   maxMessageDataLen 8 MiB), `internal/agent/manager.go` (how the bodies and messages are filled and marshalled),
 *   `internal/marketplace/payment.go` (SignRequirementWithNonce, CreateRequirement), `go.mod` (go 1.25.1,
 *   github.com/mark3labs/x402-go v0.14.0-beta.1).
 * - github.com/mark3labs/x402-go `v2/types.go` (PaymentRequirements, EVMPayload, EVMAuthorization) at commit
 *   eb2f0306c58c630422189bdaa854fc1551c7d759 (branch feature/v2-protocol-implementation, 2026-01-13). The tag
 *   v0.14.0-beta.1 is not in the mirror; that file (blob 411abfd3) is the only version of `v2/types.go` in any ref.
 *
 * Go's `encoding/json` writes struct fields in declaration order, so the key order below is the Go field order.
 * Envelope keys are snake_case, the embedded x402-go v2 objects camelCase. No struct uses `json.RawMessage`; the only
 * free-form value is `extra` (`map[string]interface{}`), whose keys Go sorts.
 */
import { JsonLimitError } from '@betar/bounded-json'
import type { z } from 'zod'
import { isV1MessageType, V1_ERROR_INFO, type V1MessageType, v1ErrorInfo, X402_V1_VERSION } from './constants.ts'
import { InvalidV1MessageError } from './errors.ts'
import { goJsonBytes, goJsonInt, goJsonObject, goJsonString, goJsonValue, jsonBytes, parseGoJson } from './go-json.ts'
import {
  errorSchema,
  paidRequestSchema,
  type paymentEnvelopeSchema,
  paymentRequiredSchema,
  type paymentRequirementsSchema,
  requestSchema,
  responseSchema
} from './schemas.ts'
import type { V1ErrorMessage, V1Message, V1MessageMap, V1PaymentEnvelope, V1PaymentRequirements } from './types.ts'

export { InvalidV1MessageError, type V1MessageIssue } from './errors.ts'
export type {
  V1ErrorMessage,
  V1EvmAuthorization,
  V1EvmPayload,
  V1Message,
  V1MessageMap,
  V1PaidRequestMessage,
  V1PaymentEnvelope,
  V1PaymentRequiredMessage,
  V1PaymentRequirements,
  V1RequestMessage,
  V1ResponseMessage
} from './types.ts'

type Member = readonly [string, string]

function str(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new TypeError(`${field} must be a string`)
  return goJsonString(value)
}

function omitEmpty(members: Member[], key: string, value: string | undefined): void {
  if (value != null && value !== '') members.push([key, str(value, key)])
}

function encodeRequirements(r: V1PaymentRequirements): string {
  const members: Member[] = [
    ['scheme', str(r.scheme, 'scheme')],
    ['network', str(r.network, 'network')],
    ['amount', str(r.amount, 'amount')],
    ['asset', str(r.asset, 'asset')],
    ['payTo', str(r.payTo, 'payTo')],
    ['maxTimeoutSeconds', goJsonInt(r.maxTimeoutSeconds, 'maxTimeoutSeconds')]
  ]
  if (r.extra != null && Object.keys(r.extra).length > 0) members.push(['extra', goJsonValue(r.extra)])
  return goJsonObject(members)
}

function encodeEnvelope(e: V1PaymentEnvelope): string {
  const members: Member[] = [
    ['x402_version', goJsonInt(e.x402_version, 'x402_version')],
    ['scheme', str(e.scheme, 'scheme')],
    ['network', str(e.network, 'network')],
    ['server_nonce', str(e.server_nonce, 'server_nonce')],
    ['payer', str(e.payer, 'payer')]
  ]
  if (e.payload != null) {
    const a = e.payload.authorization
    const authorization = goJsonObject([
      ['from', str(a.from, 'from')],
      ['to', str(a.to, 'to')],
      ['value', str(a.value, 'value')],
      ['validAfter', str(a.validAfter, 'validAfter')],
      ['validBefore', str(a.validBefore, 'validBefore')],
      ['nonce', str(a.nonce, 'nonce')]
    ])
    members.push([
      'payload',
      goJsonObject([
        ['signature', str(e.payload.signature, 'signature')],
        ['authorization', authorization]
      ])
    ])
  }
  return goJsonObject(members)
}

function head(m: { version: string; correlation_id: string }): Member[] {
  return [
    ['version', str(m.version, 'version')],
    ['correlation_id', str(m.correlation_id, 'correlation_id')]
  ]
}

const ENCODERS: { [T in V1MessageType]: (m: V1MessageMap[T]) => Member[] } = {
  'x402.request': (m) => {
    const members = head(m)
    members.push(['resource', str(m.resource, 'resource')], ['method', str(m.method, 'method')])
    members.push(['payment', m.payment == null ? 'null' : encodeEnvelope(m.payment)], ['body', goJsonBytes(m.body)])
    omitEmpty(members, 'caller_did', m.caller_did)
    return members
  },
  'x402.payment_required': (m) => {
    const members = head(m)
    members.push(['challenge_nonce', str(m.challenge_nonce, 'challenge_nonce')])
    members.push(['challenge_expires_at', goJsonInt(m.challenge_expires_at, 'challenge_expires_at')])
    members.push([
      'payment_requirements',
      m.payment_requirements == null ? 'null' : encodeRequirements(m.payment_requirements)
    ])
    members.push(['message', str(m.message, 'message')])
    omitEmpty(members, 'seller_did', m.seller_did)
    return members
  },
  'x402.paid_request': (m) => {
    const members = head(m)
    members.push(['payment', encodeEnvelope(m.payment)], ['body', goJsonBytes(m.body)])
    omitEmpty(members, 'caller_did', m.caller_did)
    return members
  },
  'x402.response': (m) => {
    const members = head(m)
    members.push(['payment_id', str(m.payment_id, 'payment_id')], ['tx_hash', str(m.tx_hash, 'tx_hash')])
    members.push(['body', goJsonBytes(m.body)])
    omitEmpty(members, 'seller_did', m.seller_did)
    omitEmpty(members, 'seller_token_id', m.seller_token_id)
    return members
  },
  'x402.error': (m) => {
    const members = head(m)
    members.push(['error_code', goJsonInt(m.error_code, 'error_code')], ['error_name', str(m.error_name, 'error_name')])
    members.push(['message', str(m.message, 'message')], ['retryable', m.retryable ? 'true' : 'false'])
    return members
  }
}

/** The JSON text Go's `json.Marshal` produces for `msg` of frame type `type`. */
export function encodeV1MessageJson<T extends V1MessageType>(type: T, msg: V1MessageMap[T]): string {
  const encode: ((m: V1MessageMap[T]) => Member[]) | undefined = ENCODERS[type]
  if (encode == null) throw new TypeError(`unknown x402 v1 message type: ${String(type)}`)
  return goJsonObject(encode(msg))
}

/** The bytes Go's `json.Marshal` produces for `msg` of frame type `type` (the frame's data). */
export function encodeV1Message<T extends V1MessageType>(type: T, msg: V1MessageMap[T]): Uint8Array {
  return jsonBytes(encodeV1MessageJson(type, msg))
}

function withOptional<T extends object, K extends string, V>(
  target: T,
  key: K,
  value: V | null | undefined
): T & { [P in K]?: V } {
  if (value != null) Object.assign(target, { [key]: value })
  return target
}

function toRequirements(r: z.output<typeof paymentRequirementsSchema>): V1PaymentRequirements {
  const { extra, ...rest } = r
  return withOptional(rest, 'extra', extra)
}

function toEnvelope(e: z.output<typeof paymentEnvelopeSchema>): V1PaymentEnvelope {
  const { payload, ...rest } = e
  return withOptional(rest, 'payload', payload)
}

/**
 * Parses and validates the JSON data of a frame of type `type`.
 *
 * @throws InvalidV1MessageError when the type is unknown, the data is not JSON or nests more than 64 levels deep
 * (`issues[0].code` `invalid_json`, `too_deep` or `too_big`), or a field is missing or mistyped
 */
export function decodeV1Message<T extends V1MessageType>(type: T, data: Uint8Array): V1MessageMap[T]
export function decodeV1Message(type: string, data: Uint8Array): V1Message
export function decodeV1Message(type: string, data: Uint8Array): V1Message {
  if (!isV1MessageType(type)) throw new InvalidV1MessageError(type, 'unknown message type')
  let json: unknown
  try {
    json = parseGoJson(data)
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    const reason = err instanceof JsonLimitError ? err.reason : 'syntax'
    const code = reason === 'depth' ? 'too_deep' : reason === 'size' ? 'too_big' : 'invalid_json'
    const summary = code === 'invalid_json' ? `not JSON: ${message}` : message
    throw new InvalidV1MessageError(type, summary, [{ path: [], message, code }], { cause: err })
  }
  return decodeParsed(type, json)
}

function parse<S extends z.ZodType>(type: V1MessageType, schema: S, json: unknown): z.output<S> {
  const result = schema.safeParse(json)
  if (result.success) return result.data
  const issues = result.error.issues.map((i) => ({ path: i.path, message: i.message, code: i.code }))
  const summary = issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ')
  throw new InvalidV1MessageError(type, summary, issues, { cause: result.error })
}

function decodeParsed(type: V1MessageType, json: unknown): V1Message {
  switch (type) {
    case 'x402.request': {
      const { payment, caller_did, ...rest } = parse(type, requestSchema, json)
      return withOptional({ ...rest, payment: payment == null ? null : toEnvelope(payment) }, 'caller_did', caller_did)
    }
    case 'x402.payment_required': {
      const { payment_requirements, seller_did, ...rest } = parse(type, paymentRequiredSchema, json)
      const requirements = payment_requirements == null ? null : toRequirements(payment_requirements)
      return withOptional({ ...rest, payment_requirements: requirements }, 'seller_did', seller_did)
    }
    case 'x402.paid_request': {
      const { payment, caller_did, ...rest } = parse(type, paidRequestSchema, json)
      return withOptional({ ...rest, payment: toEnvelope(payment) }, 'caller_did', caller_did)
    }
    case 'x402.response': {
      const { seller_did, seller_token_id, ...rest } = parse(type, responseSchema, json)
      return withOptional(withOptional(rest, 'seller_did', seller_did), 'seller_token_id', seller_token_id)
    }
    case 'x402.error':
      return parse(type, errorSchema, json)
  }
}

/**
 * The `x402.error` a server sends for `err`, as Go's server would: for the codes Go defines, Go's name and retryable flag
 * (`NewX402Error`: 2002 `PAYMENT_NONCE_MISMATCH` where this package says `NONCE_MISMATCH`, 2007 retryable), so a Go
 * buyer reads it as it reads Go's; for codes only this implementation sends (rate limits, pending settlements, …), their
 * own name and flag.
 */
export function v1ErrorFor(
  correlationId: string,
  err: { code: number; codeName: string; message: string; retryable: boolean }
): V1ErrorMessage {
  const go = V1_ERROR_INFO[err.code]
  return {
    version: X402_V1_VERSION,
    correlation_id: correlationId,
    error_code: err.code,
    error_name: go?.name ?? err.codeName,
    message: err.message,
    retryable: go?.retryable ?? err.retryable
  }
}

/** An `x402.error` exactly as Go's `NewX402Error` fills it: name and retryable flag from the code. */
export function createV1Error(correlationId: string, code: number, message: string): V1ErrorMessage {
  const info = v1ErrorInfo(code)
  return {
    version: X402_V1_VERSION,
    correlation_id: correlationId,
    error_code: code,
    error_name: info.name,
    message,
    retryable: info.retryable
  }
}
