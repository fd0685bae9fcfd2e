/**
 * TypeScript shapes of the five `/x402/libp2p/1.0.0` messages. Keys are the JSON keys Go writes (snake_case envelope,
 * camelCase x402-go v2 objects) so a message and its wire JSON read alike; `body` is held as bytes, not base64.
 */
import type { V1MessageType } from './constants.ts'
import type { GoJsonValue } from './go-json.ts'

/** x402-go v2 `EVMAuthorization`: EIP-3009 `transferWithAuthorization` parameters, all decimal/hex strings. */
export interface V1EvmAuthorization {
  from: string
  to: string
  value: string
  validAfter: string
  validBefore: string
  nonce: string
}

/** x402-go v2 `EVMPayload`. Go clients sign with `v ∈ {0,1}`; viem produces 27/28. */
export interface V1EvmPayload {
  signature: string
  authorization: V1EvmAuthorization
}

/** x402-go v2 `PaymentRequirements`. `extra` is omitted on the wire when absent or empty. */
export interface V1PaymentRequirements {
  scheme: string
  network: string
  amount: string
  asset: string
  payTo: string
  maxTimeoutSeconds: number
  extra?: Record<string, GoJsonValue>
}

/** Betar `X402PaymentEnvelope`. `payload` is omitted on the wire when absent. */
export interface V1PaymentEnvelope {
  x402_version: number
  scheme: string
  network: string
  server_nonce: string
  payer: string
  payload?: V1EvmPayload
}

/** `x402.request`. `payment` is written as an explicit `null` when there is none. */
export interface V1RequestMessage {
  version: string
  correlation_id: string
  resource: string
  method: string
  payment: V1PaymentEnvelope | null
  /** Raw body bytes (base64 on the wire); `null` is a nil slice. */
  body: Uint8Array | null
  /** Omitted on the wire when absent or empty. */
  caller_did?: string
}

/** `x402.payment_required`. */
export interface V1PaymentRequiredMessage {
  version: string
  correlation_id: string
  challenge_nonce: string
  /** Unix seconds. */
  challenge_expires_at: number
  payment_requirements: V1PaymentRequirements | null
  message: string
  seller_did?: string
}

/** `x402.paid_request`. There is no top-level `resource`; the Go server takes it from `body`. */
export interface V1PaidRequestMessage {
  version: string
  correlation_id: string
  payment: V1PaymentEnvelope
  body: Uint8Array | null
  caller_did?: string
}

/** `x402.response`. Go always writes `payment_id` and `tx_hash`, empty for free calls. */
export interface V1ResponseMessage {
  version: string
  correlation_id: string
  payment_id: string
  tx_hash: string
  body: Uint8Array | null
  seller_did?: string
  seller_token_id?: string
}

/** `x402.error`. */
export interface V1ErrorMessage {
  version: string
  correlation_id: string
  error_code: number
  error_name: string
  message: string
  retryable: boolean
}

/** Message shape of each frame type. */
export interface V1MessageMap {
  'x402.request': V1RequestMessage
  'x402.payment_required': V1PaymentRequiredMessage
  'x402.paid_request': V1PaidRequestMessage
  'x402.response': V1ResponseMessage
  'x402.error': V1ErrorMessage
}

/** Any of the five messages. */
export type V1Message = V1MessageMap[V1MessageType]
