import type { SettleResponse } from '@x402/core/types'
import type { FrameSink } from '../channel.ts'
import { X402Error } from '../errors.ts'
import { jsonBytes } from '../json.ts'
import { latestTransaction } from '../settlement/settler.ts'
import { type CallRecord, validBeforeMs } from '../store/records.ts'

/** Largest body slice per RESPONSE frame. */
const CHUNK = 256 * 1024

const EMPTY = new Uint8Array(0)

/** Sends an ERROR frame (spec §8). */
export async function sendError(channel: FrameSink, correlationId: string, err: X402Error): Promise<void> {
  await channel.write(
    {
      type: 'ERROR',
      correlationId,
      error: {
        code: err.code,
        name: err.codeName,
        message: err.message.slice(0, 4096),
        retryable: err.retryable,
        details: err.details != null ? jsonBytes(err.details) : EMPTY
      }
    },
    { signal: AbortSignal.timeout(5_000) }
  )
}

/**
 * Sends a result as RESPONSE frames: a buffer is cut into slices, a stream is forwarded chunk by chunk; the final
 * frame carries the settlement of a paid call.
 */
export async function sendResult(
  channel: FrameSink,
  correlationId: string,
  output: Uint8Array | AsyncIterable<Uint8Array>,
  settlement: SettleResponse | undefined,
  contentType = ''
): Promise<void> {
  const frame = (body: Uint8Array, final: boolean) =>
    channel.write({
      type: 'RESPONSE',
      correlationId,
      response: {
        body,
        final,
        settlement: final && settlement != null ? jsonBytes(settlement) : EMPTY,
        contentType: final ? contentType : ''
      }
    })
  if (output instanceof Uint8Array) {
    const frames = Math.max(1, Math.ceil(output.byteLength / CHUNK))
    for (let i = 0; i < frames; i++) await frame(output.subarray(i * CHUNK, (i + 1) * CHUNK), i === frames - 1)
    return
  }
  for await (const chunk of output) {
    for (let offset = 0; offset < chunk.byteLength; offset += CHUNK)
      await frame(chunk.subarray(offset, offset + CHUNK), false)
  }
  await frame(EMPTY, true)
}

/** Collects a handler's output into one buffer, refusing more than `max` bytes. */
export async function collect(output: Uint8Array | AsyncIterable<Uint8Array>, max: number): Promise<Uint8Array> {
  if (output instanceof Uint8Array) {
    if (output.byteLength > max) throw new RangeError(`result over ${max} bytes`)
    return output
  }
  const parts: Uint8Array[] = []
  let size = 0
  for await (const chunk of output) {
    size += chunk.byteLength
    if (size > max) throw new RangeError(`result over ${max} bytes`)
    parts.push(chunk)
  }
  const out = new Uint8Array(size)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.byteLength
  }
  return out
}

/**
 * Whether a record's result goes to the buyer: once `done`, and for a `deferred` call from `executed` on — its result
 * was delivered before its settlement — unless the settlement was proven void.
 */
export function deliverable(record: CallRecord): boolean {
  if (record.state === 'done') return true
  return (
    record.order === 'deferred' &&
    record.result != null &&
    (record.state === 'executed' || record.state === 'settling' || record.state === 'settled')
  )
}

/**
 * The settlement a result carries: the confirmed one, or for a deferred call not yet confirmed x402's SettleResponse
 * shape with `success: false` and `errorReason: 'settlement_deferred'` (spec §7.7) — the payment settles later.
 */
export function settlementOf(record: CallRecord): SettleResponse | undefined {
  if (record.settlement != null || record.order !== 'deferred') return record.settlement
  const payer = (record.payment.payload as { authorization: { from: string } }).authorization.from
  return {
    success: false,
    errorReason: 'settlement_deferred',
    transaction: '',
    network: record.requirements.network,
    payer
  }
}

/** Sends what a paid-call record says: its result, its stored error, or SETTLEMENT_PENDING. */
export async function answerRecord(channel: FrameSink, record: CallRecord): Promise<void> {
  const { correlationId } = record
  if (deliverable(record)) {
    const body = new Uint8Array(Buffer.from(record.result ?? '', 'base64'))
    await sendResult(channel, correlationId, body, settlementOf(record), record.resultContentType ?? '')
  } else {
    await sendError(channel, correlationId, recordError(record))
  }
}

/** Suggested pause before a re-ask of a pending settlement (ms). */
const REASK_AFTER_MS = 1_000

/**
 * The error a record that is not `done` answers with: its stored error once `refunded` or `failed`
 * (EXECUTION_FAILED, with the refund or `charged: false`) or `void` (SETTLEMENT_FAILED), otherwise SETTLEMENT_PENDING
 * with the transaction in flight, if any — while `refunding`, the refund's, with `reason: 'refund_pending'`
 * (spec §7.1, §7.5, §8).
 */
export function recordError(record: CallRecord): X402Error {
  if (record.state === 'failed' || record.state === 'void' || record.state === 'refunded') {
    const error = record.error ?? { code: 3000, message: 'failed' }
    return new X402Error(error.code, error.message, error.details != null ? { details: error.details } : {})
  }
  if (record.state === 'refunding') {
    const transaction = latestTransaction(record.refund?.attempt ?? { transactions: [] })?.hash
    return X402Error.of('SETTLEMENT_PENDING', 'the handler failed; the refund is not yet confirmed; re-ask', {
      ...(transaction != null ? { transaction } : {}),
      network: record.requirements.network,
      reason: 'refund_pending',
      retryAfterMs: REASK_AFTER_MS
    })
  }
  const transaction = record.settlement?.transaction ?? latestTransaction(record.attempt ?? { transactions: [] })?.hash
  return X402Error.of('SETTLEMENT_PENDING', 'transfer not yet confirmed; re-ask with the same correlation id', {
    ...(transaction != null ? { transaction } : {}),
    network: record.requirements.network,
    ...(record.attempt?.reason != null ? { reason: record.attempt.reason } : {}),
    validBefore: validBeforeMs(record) / 1000,
    retryAfterMs: REASK_AFTER_MS
  })
}
