import { parsePaymentPayload, parsePaymentRequired } from '@x402/core/schemas'
import type { PaymentPayload, PaymentRequired, SettleResponse } from '@x402/core/types'
import { type Address, getAddress, type Hex, isAddress, isHex } from 'viem'
import { z } from 'zod'
import { MAX_X402_JSON_SIZE, X402_VERSION } from './constants.ts'
import { ProtocolViolationError, X402Error } from './errors.ts'
import { parseJsonBytes } from './json.ts'

/** The EIP-3009 authorization inside an `exact` payload. */
export interface Eip3009Authorization {
  from: Address
  to: Address
  value: string
  validAfter: string
  validBefore: string
  nonce: Hex
}

/** An `exact`/EIP-3009 payment payload with its authorization checked for shape. */
export interface ExactPayment {
  payload: PaymentPayload
  authorization: Eip3009Authorization
  signature: Hex
}

const uintString = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'unsigned decimal integer')
const address = z.string().refine((s) => isAddress(s, { strict: false }), 'address')
const ExactEvmPayloadSchema = z.object({
  signature: z.string().refine((s) => isHex(s) && s.length >= 132 && s.length <= 2 + 2 * 4096, 'signature hex'),
  authorization: z.object({
    from: address,
    to: address,
    value: uintString,
    validAfter: uintString,
    validBefore: uintString,
    nonce: z.string().regex(/^0x[0-9a-fA-F]{64}$/, '32-byte hex nonce')
  })
})

/**
 * Parses an untrusted payment payload: bounded JSON, the x402 v2 schema from `@x402/core`, then the `exact` EIP-3009
 * payload shape. Throws `PAYMENT_INVALID` ({@link X402Error}) on any defect (spec §5 step 5).
 */
export function parseExactPayment(bytes: Uint8Array): ExactPayment {
  let json: unknown
  try {
    json = parseJsonBytes(bytes, MAX_X402_JSON_SIZE, 'payment')
  } catch (err) {
    throw X402Error.of('PAYMENT_INVALID', (err as Error).message)
  }
  const parsed = parsePaymentPayload(json)
  if (!parsed.success) throw X402Error.of('PAYMENT_INVALID', `payment payload: ${parsed.error.message}`)
  const payload = parsed.data as PaymentPayload
  if (payload.x402Version !== X402_VERSION) throw X402Error.of('PAYMENT_INVALID', `x402Version must be ${X402_VERSION}`)
  if (payload.accepted.scheme !== 'exact') throw X402Error.of('PAYMENT_INVALID', 'only the exact scheme is supported')
  const exact = ExactEvmPayloadSchema.safeParse(payload.payload)
  if (!exact.success)
    throw X402Error.of('PAYMENT_INVALID', `exact payload: ${exact.error.issues[0]?.message ?? 'invalid'}`)
  const a = exact.data.authorization
  return {
    payload,
    signature: exact.data.signature as Hex,
    authorization: {
      from: getAddress(a.from),
      to: getAddress(a.to),
      value: a.value,
      validAfter: a.validAfter,
      validBefore: a.validBefore,
      nonce: a.nonce.toLowerCase() as Hex
    }
  }
}

/** Parses an untrusted x402 v2 PaymentRequired (client side). */
export function parsePaymentRequiredBytes(bytes: Uint8Array): PaymentRequired {
  return parsePaymentRequiredValue(parseJsonBytes(bytes, MAX_X402_JSON_SIZE, 'payment_required'))
}

/** Validates an untrusted x402 v2 PaymentRequired object (e.g. the details of a PAYMENT_REQUIRED error). */
export function parsePaymentRequiredValue(value: unknown): PaymentRequired {
  const parsed = parsePaymentRequired(value)
  if (!parsed.success) throw new ProtocolViolationError(`payment_required: ${parsed.error.message}`)
  const required = parsed.data as PaymentRequired
  if (required.x402Version !== X402_VERSION) throw new ProtocolViolationError(`x402Version must be ${X402_VERSION}`)
  return required
}

const SettleResponseSchema = z.object({
  success: z.boolean(),
  transaction: z.string().max(256),
  network: z.string().max(64),
  payer: z.string().max(128).optional(),
  errorReason: z.string().max(256).optional()
})

/** Parses an untrusted x402 v2 SettleResponse (client side). */
export function parseSettleResponseBytes(bytes: Uint8Array): SettleResponse {
  const parsed = SettleResponseSchema.safeParse(parseJsonBytes(bytes, MAX_X402_JSON_SIZE, 'settlement'))
  if (!parsed.success) throw new ProtocolViolationError(`settlement: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
  return parsed.data as SettleResponse
}
