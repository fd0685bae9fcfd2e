import type { Uint8ArrayList } from 'uint8arraylist'
import { CORRELATION_ID_PATTERN, MAX_RESOURCE_LENGTH, MAX_X402_JSON_SIZE } from './constants.ts'
import { ProtocolViolationError } from './errors.ts'
import { Message } from './pb/x402.ts'

/** A decoded, structurally valid `/x402/libp2p/2.0.0` frame (spec §3). */
export type WireMessage =
  | { type: 'REQUEST'; correlationId: string; request: WireRequest }
  | { type: 'PAID_REQUEST'; correlationId: string; request: WireRequest & { payment: Uint8Array } }
  | { type: 'PAYMENT_REQUIRED'; correlationId: string; paymentRequired: WirePaymentRequired }
  | { type: 'RESPONSE'; correlationId: string; response: WireResponse }
  | { type: 'ERROR'; correlationId: string; error: WireError }

export interface WireRequest {
  resource: string
  body: Uint8Array
  contentType: string
  payment?: Uint8Array
}

export interface WirePaymentRequired {
  /** UTF-8 JSON of an x402 v2 PaymentRequired. */
  paymentRequired: Uint8Array
  challenge: Uint8Array
  expiresAt: bigint
}

export interface WireResponse {
  body: Uint8Array
  final: boolean
  /** UTF-8 JSON of an x402 v2 SettleResponse (empty when free). */
  settlement: Uint8Array
  contentType: string
}

export interface WireError {
  code: number
  name: string
  message: string
  retryable: boolean
  details: Uint8Array
}

/** Bounds applied when decoding (spec §3). */
export interface WireLimits {
  maxBodySize: number
}

const utf8 = new TextEncoder()

function fail(message: string): never {
  throw new ProtocolViolationError(message)
}

// protons reads invalid UTF-8 without checking it and can yield lone surrogates, which do not survive re-encoding.
const LONE_SURROGATE = /\p{Cs}/u

function checkText(field: string, value: string): void {
  if (LONE_SURROGATE.test(value)) fail(`${field} is not valid UTF-8`)
}

function checkBytes(field: string, value: Uint8Array | undefined, max: number): void {
  if (value != null && value.byteLength > max) fail(`${field} is ${value.byteLength} bytes, over the ${max}-byte limit`)
}

function checkRequest(r: WireRequest | undefined, paid: boolean, limits: WireLimits): WireRequest {
  if (r == null) fail('request frame without a request')
  const resourceBytes = utf8.encode(r.resource).byteLength
  if (resourceBytes === 0 || resourceBytes > MAX_RESOURCE_LENGTH)
    fail(`resource must be 1…${MAX_RESOURCE_LENGTH} bytes`)
  checkText('resource', r.resource)
  checkText('content_type', r.contentType)
  checkBytes('body', r.body, limits.maxBodySize)
  checkBytes('payment', r.payment, MAX_X402_JSON_SIZE)
  if (paid && (r.payment == null || r.payment.byteLength === 0)) fail('PAID_REQUEST without a payment')
  if (!paid && r.payment != null && r.payment.byteLength > 0) fail('REQUEST must not carry a payment')
  return r
}

/**
 * Decodes one frame and checks everything that does not need state: the type/payload match, correlation id syntax,
 * field sizes, and strings that are well-formed Unicode. Throws {@link ProtocolViolationError} (→ `INVALID_MESSAGE`) on any defect, including an unknown
 * message type.
 */
export function decodeWireMessage(bytes: Uint8Array | Uint8ArrayList, limits: WireLimits): WireMessage {
  let m: Message
  try {
    m = Message.decode(bytes)
  } catch (err) {
    throw new ProtocolViolationError(`undecodable frame: ${(err as Error).message}`, { cause: err })
  }
  const correlationId = m.correlationId
  if (!CORRELATION_ID_PATTERN.test(correlationId)) fail('correlation id must be 1…64 characters of [A-Za-z0-9_-]')
  const present = [m.request, m.paymentRequired, m.response, m.error].filter((x) => x != null).length
  if (present !== 1) fail(`a frame carries exactly one payload, got ${present}`)

  switch (m.type) {
    case Message.Type.REQUEST:
      return { type: 'REQUEST', correlationId, request: checkRequest(m.request, false, limits) }
    case Message.Type.PAID_REQUEST: {
      const request = checkRequest(m.request, true, limits)
      return { type: 'PAID_REQUEST', correlationId, request: { ...request, payment: request.payment as Uint8Array } }
    }
    case Message.Type.PAYMENT_REQUIRED: {
      const p = m.paymentRequired ?? fail('PAYMENT_REQUIRED frame without its payload')
      checkBytes('payment_required', p.paymentRequired, MAX_X402_JSON_SIZE)
      if (p.challenge.byteLength !== 32) fail('challenge must be 32 bytes')
      return { type: 'PAYMENT_REQUIRED', correlationId, paymentRequired: p }
    }
    case Message.Type.RESPONSE: {
      const r = m.response ?? fail('RESPONSE frame without its payload')
      checkText('content_type', r.contentType)
      checkBytes('body', r.body, limits.maxBodySize)
      checkBytes('settlement', r.settlement, MAX_X402_JSON_SIZE)
      return { type: 'RESPONSE', correlationId, response: r }
    }
    case Message.Type.ERROR: {
      const e = m.error ?? fail('ERROR frame without its payload')
      checkBytes('details', e.details, MAX_X402_JSON_SIZE)
      if (e.message.length > 4096 || e.name.length > 64) fail('error name or message too long')
      checkText('error name', e.name)
      checkText('error message', e.message)
      return { type: 'ERROR', correlationId, error: e }
    }
    default:
      return fail(`unexpected message type ${String(m.type)}`)
  }
}

/** Encodes one frame (without its length prefix). */
export function encodeWireMessage(msg: WireMessage): Uint8Array {
  const { type, correlationId } = msg
  // Our byte fields may view a shared buffer (`Uint8Array<ArrayBufferLike>`); protons only copies them out.
  const fields =
    'request' in msg
      ? { request: msg.request }
      : 'paymentRequired' in msg
        ? { paymentRequired: msg.paymentRequired }
        : 'response' in msg
          ? { response: msg.response }
          : { error: msg.error }
  return Message.encode({ type: Message.Type[type], correlationId, ...fields } as Partial<Message>)
}
