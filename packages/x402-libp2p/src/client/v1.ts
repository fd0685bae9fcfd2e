import type { PeerId, Stream } from '@libp2p/interface'
import type { PaymentRequirements, SettleResponse } from '@x402/core/types'
import { type Hex, isHex } from 'viem'
import { ErrorCode, ExecutionFailedError, ProtocolViolationError, X402Error } from '../errors.ts'
import type { AuthorizationRef } from '../settlement/authorization.ts'
import { decodeV1ResponseBody, encodeV1RequestBody } from '../v1/bodies.ts'
import {
  V1_MESSAGE_TYPES,
  X402_V1_ENVELOPE_X402_VERSION,
  X402_V1_METHOD_EXECUTE,
  X402_V1_PREEMPTIVE_NONCE,
  X402_V1_VERSION
} from '../v1/constants.ts'
import { readV1Frame, writeV1Frame } from '../v1/frame.ts'
import { decodeV1Message, encodeV1Message } from '../v1/messages.ts'
import type { V1EvmPayload, V1PaymentEnvelope, V1PaymentRequirements } from '../v1/types.ts'
import type { CallResult } from './types.ts'

/** What the v1 exchange needs from the client. */
export interface V1CallContext {
  protocol: string
  peer: PeerId
  /** Opens a new `/x402/libp2p/1.0.0` stream to the same peer (Go uses one stream per message). */
  openStream(signal: AbortSignal): Promise<Stream>
  /** Approves, reserves budget and signs (spec §6); returns the x402 payload pieces and a budget release. */
  pay(
    accepts: PaymentRequirements[],
    nonce: Hex
  ): Promise<{ envelope: V1PaymentEnvelope; requirements: PaymentRequirements; release: () => void }>
  frameTimeoutMs: number
  maxResultSize: number
  /**
   * A paid call failed without being charged (its handler failed, the payment was not settled): give the budget back
   * once the chain agrees nothing moved.
   */
  notCharged(requirements: PaymentRequirements, authorization: AuthorizationRef, release: () => void): void
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** Calls a Betar Go node over `/x402/libp2p/1.0.0` (spec §9). Bodies must be UTF-8 text, as Go's are. */
export async function callV1(
  ctx: V1CallContext,
  first: Stream,
  correlationId: string,
  resource: string,
  body: Uint8Array,
  preemptive: PaymentRequirements | undefined,
  signal: AbortSignal
): Promise<CallResult> {
  let input: string
  try {
    input = strictUtf8.decode(body)
  } catch {
    throw new ProtocolViolationError('/x402/libp2p/1.0.0 carries text: the body is not UTF-8')
  }
  const requestBody = encodeV1RequestBody({ resource, input })

  if (preemptive != null) {
    const nonce = `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')}` as Hex
    const { envelope, requirements, release } = await ctx.pay([preemptive], nonce)
    await send(first, V1_MESSAGE_TYPES.request, {
      version: X402_V1_VERSION,
      correlation_id: correlationId,
      resource,
      method: X402_V1_METHOD_EXECUTE,
      payment: { ...envelope, server_nonce: X402_V1_PREEMPTIVE_NONCE },
      body: requestBody
    })
    return readOutcome(ctx, first, correlationId, { requirements, envelope, release }, signal)
  }

  await send(first, V1_MESSAGE_TYPES.request, {
    version: X402_V1_VERSION,
    correlation_id: correlationId,
    resource,
    method: X402_V1_METHOD_EXECUTE,
    payment: null,
    body: requestBody
  })
  const frame = await readV1Frame(first, { maxDataLength: ctx.maxResultSize * 2, signal: frameSignal(ctx, signal) })
  await first.close().catch(() => {})
  if (frame.type === V1_MESSAGE_TYPES.response || frame.type === V1_MESSAGE_TYPES.error) {
    return outcome(ctx, frame.type, frame.data, correlationId, undefined)
  }
  if (frame.type !== V1_MESSAGE_TYPES.paymentRequired)
    throw new ProtocolViolationError(`unexpected ${frame.type} frame`)
  const required = decodeV1Message(V1_MESSAGE_TYPES.paymentRequired, frame.data)
  if (required.correlation_id !== correlationId)
    throw new ProtocolViolationError('the server answered another correlation id')
  if (required.payment_requirements == null) throw new ProtocolViolationError('payment_required without requirements')
  if (!/^[0-9a-f]{64}$/i.test(required.challenge_nonce))
    throw new ProtocolViolationError('challenge_nonce must be 64 hex characters')
  if (required.challenge_expires_at < Math.floor(Date.now() / 1000))
    throw new ProtocolViolationError('challenge already expired')

  const nonce = `0x${required.challenge_nonce.toLowerCase()}`
  if (!isHex(nonce)) throw new ProtocolViolationError('bad challenge_nonce')
  const { envelope, requirements, release } = await ctx.pay([fromV1Requirements(required.payment_requirements)], nonce)
  const stream = await ctx.openStream(signal)
  await send(stream, V1_MESSAGE_TYPES.paidRequest, {
    version: X402_V1_VERSION,
    correlation_id: correlationId,
    payment: { ...envelope, server_nonce: required.challenge_nonce },
    body: requestBody
  })
  return readOutcome(ctx, stream, correlationId, { requirements, envelope, release }, signal)
}

async function readOutcome(
  ctx: V1CallContext,
  stream: Stream,
  correlationId: string,
  paid: { requirements: PaymentRequirements; envelope: V1PaymentEnvelope; release: () => void },
  signal: AbortSignal
): Promise<CallResult> {
  const { requirements, release } = paid
  const frame = await readV1Frame(stream, { maxDataLength: ctx.maxResultSize * 2, signal: frameSignal(ctx, signal) })
  await stream.close().catch(() => {})
  try {
    return outcome(ctx, frame.type, frame.data, correlationId, requirements)
  } catch (err) {
    // The Go server only settles after every check, so an error before SETTLEMENT_FAILED moved nothing.
    if (err instanceof X402Error && err.code < 2007) release()
    const a = paid.envelope.payload?.authorization
    if (err instanceof ExecutionFailedError && !err.charged && a != null) {
      const nonce = (a.nonce.startsWith('0x') ? a.nonce : `0x${a.nonce}`) as Hex
      ctx.notCharged(requirements, { from: a.from as Hex, nonce, validBefore: a.validBefore }, release)
    }
    throw err
  }
}

function outcome(
  ctx: V1CallContext,
  type: string,
  data: Uint8Array,
  correlationId: string,
  requirements: PaymentRequirements | undefined
): CallResult {
  if (type === V1_MESSAGE_TYPES.error) {
    const e = decodeV1Message(V1_MESSAGE_TYPES.error, data)
    const err = new X402Error(e.error_code, e.message, { retryable: e.retryable })
    if (err.code !== ErrorCode.EXECUTION_FAILED || requirements == null) throw err
    // 1.0.0 errors carry no details: what happened to the payment is read from a Betar seller's message (spec §9),
    // unchecked — the budget stays reserved.
    const refunded = /refunded in (0x[0-9a-fA-F]{64})/.exec(e.message)?.[1]
    if (refunded != null) {
      const refund = { transaction: refunded, amount: BigInt(requirements.amount), check: 'unchecked' as const }
      throw new ExecutionFailedError(correlationId, err, true, refund)
    }
    throw new ExecutionFailedError(correlationId, err, !/nothing was charged/.test(e.message))
  }
  if (type !== V1_MESSAGE_TYPES.response) throw new ProtocolViolationError(`unexpected ${type} frame`)
  const r = decodeV1Message(V1_MESSAGE_TYPES.response, data)
  if (r.correlation_id !== correlationId) throw new ProtocolViolationError('the server answered another correlation id')
  const output = new TextEncoder().encode(decodeV1ResponseBody(r.body))
  if (output.byteLength > ctx.maxResultSize) throw new ProtocolViolationError('result too large')
  const paid = requirements != null
  if (paid && r.tx_hash === '') throw new ProtocolViolationError('paid response without a transaction')
  const settlement: SettleResponse | undefined = paid
    ? { success: true, transaction: r.tx_hash, network: requirements.network }
    : undefined
  return {
    body: output,
    contentType: '',
    correlationId,
    protocol: ctx.protocol,
    amount: paid ? BigInt(requirements.amount) : 0n,
    ...(settlement != null ? { settlement } : {})
  }
}

function frameSignal(ctx: V1CallContext, signal: AbortSignal): AbortSignal {
  return AbortSignal.any([signal, AbortSignal.timeout(ctx.frameTimeoutMs)])
}

async function send<T extends 'x402.request' | 'x402.paid_request'>(
  stream: Stream,
  type: T,
  msg: Parameters<typeof encodeV1Message<T>>[1]
): Promise<void> {
  await writeV1Frame(stream, type, encodeV1Message(type, msg))
}

/** The Go requirement object is the x402 v2 `PaymentRequirements` shape (camelCase keys). */
export function fromV1Requirements(r: V1PaymentRequirements): PaymentRequirements {
  return {
    scheme: r.scheme,
    network: r.network as PaymentRequirements['network'],
    amount: r.amount,
    asset: r.asset,
    payTo: r.payTo,
    maxTimeoutSeconds: r.maxTimeoutSeconds,
    extra: (r.extra ?? {}) as Record<string, unknown>
  }
}

/** Builds the Go payment envelope around an x402 v2 exact payload. */
export function toV1Envelope(
  requirements: PaymentRequirements,
  payer: string,
  payload: V1EvmPayload
): V1PaymentEnvelope {
  return {
    x402_version: X402_V1_ENVELOPE_X402_VERSION,
    scheme: requirements.scheme,
    network: requirements.network,
    server_nonce: '',
    payer,
    payload
  }
}
