/**
 * zod schemas of the five `/x402/libp2p/1.0.0` JSON messages, as Go's `json.Unmarshal` reads them into the structs of
 * asabya/betar `internal/marketplace/x402.go` (see `messages.ts` for the source references).
 *
 * Policy: unknown keys are ignored, as Go does. Types are strict: strings must be strings, Go `int`/`int64` fields
 * must be safe integers, `retryable` a boolean. Every field Go always emits (no `omitempty`) must be present. `null` is
 * accepted only where the Go type is a pointer, slice or map (`payment` on a request, `payment_requirements`,
 * `payload`, `extra`, `body`), because only there does Go itself produce it. Go is laxer: it also accepts missing
 * fields, `null` for scalars and case-insensitive key matches — a Go peer never sends those, so neither do we accept
 * them.
 */
import { z } from 'zod'
import { type GoJsonValue, goBase64Decode } from './go-json.ts'

const goString = z.string()
const goInt = z.int()

/** A Go `[]byte` field: standard padded base64, or `null` for a nil slice. */
export const goBytesSchema = z
  .string()
  .transform((text, ctx): Uint8Array => {
    const bytes = goBase64Decode(text)
    if (bytes == null) {
      ctx.addIssue({ code: 'custom', message: 'illegal base64 data (standard alphabet, padded)' })
      return z.NEVER
    }
    return bytes
  })
  .nullable()

/** Any JSON value, as Go's `interface{}` holds it. */
export const goJsonValueSchema: z.ZodType<GoJsonValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(goJsonValueSchema),
    z.record(z.string(), goJsonValueSchema)
  ])
)

/** x402-go v2 `EVMAuthorization` (camelCase keys). */
export const evmAuthorizationSchema = z.object({
  from: goString,
  to: goString,
  value: goString,
  validAfter: goString,
  validBefore: goString,
  nonce: goString
})

/** x402-go v2 `EVMPayload`. */
export const evmPayloadSchema = z.object({
  signature: goString,
  authorization: evmAuthorizationSchema
})

/** x402-go v2 `PaymentRequirements` (camelCase keys; `extra` is `map[string]interface{}` with omitempty). */
export const paymentRequirementsSchema = z.object({
  scheme: goString,
  network: goString,
  amount: goString,
  asset: goString,
  payTo: goString,
  maxTimeoutSeconds: goInt,
  extra: z.record(z.string(), goJsonValueSchema).nullish()
})

/** Betar `X402PaymentEnvelope` (snake_case keys; `payload` is `*EVMPayload` with omitempty). */
export const paymentEnvelopeSchema = z.object({
  x402_version: goInt,
  scheme: goString,
  network: goString,
  server_nonce: goString,
  payer: goString,
  payload: evmPayloadSchema.nullish()
})

/** Betar `X402Request`. */
export const requestSchema = z.object({
  version: goString,
  correlation_id: goString,
  resource: goString,
  method: goString,
  payment: paymentEnvelopeSchema.nullable(),
  body: goBytesSchema,
  caller_did: goString.optional()
})

/** Betar `X402PaymentRequired`. */
export const paymentRequiredSchema = z.object({
  version: goString,
  correlation_id: goString,
  challenge_nonce: goString,
  challenge_expires_at: goInt,
  payment_requirements: paymentRequirementsSchema.nullable(),
  message: goString,
  seller_did: goString.optional()
})

/** Betar `X402PaidRequest` (`payment` is a struct value, never `null`). */
export const paidRequestSchema = z.object({
  version: goString,
  correlation_id: goString,
  payment: paymentEnvelopeSchema,
  body: goBytesSchema,
  caller_did: goString.optional()
})

/** Betar `X402Response`. */
export const responseSchema = z.object({
  version: goString,
  correlation_id: goString,
  payment_id: goString,
  tx_hash: goString,
  body: goBytesSchema,
  seller_did: goString.optional(),
  seller_token_id: goString.optional()
})

/** Betar `X402Error` (also the anonymous struct of `marshalError`, which has the same fields in the same order). */
export const errorSchema = z.object({
  version: goString,
  correlation_id: goString,
  error_code: goInt,
  error_name: goString,
  message: goString,
  retryable: z.boolean()
})

/** The schema of each frame type. */
export const V1_MESSAGE_SCHEMAS = {
  'x402.request': requestSchema,
  'x402.payment_required': paymentRequiredSchema,
  'x402.paid_request': paidRequestSchema,
  'x402.response': responseSchema,
  'x402.error': errorSchema
} as const
