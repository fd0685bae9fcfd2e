import type { PeerId } from '@libp2p/interface'
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types'
import { type Address, getAddress } from 'viem'
import { ProtocolViolationError, X402Error } from '../errors.ts'
import { parseExactPayment } from '../payment.ts'
import { matchAccepted, requirementsHash } from '../requirements.ts'
import { settleFailure, verifyFailure } from '../settlement/settler.ts'
import type { CallRecord } from '../store/records.ts'
import { collect } from './respond.ts'
import type { X402ServerImpl } from './server.ts'
import type { PaymentEventDetail } from './types.ts'

/** A paid request, whichever wire version carried it. */
export interface PaidCallInput {
  correlationId: string
  resource: string
  body: Uint8Array
  contentType: string
  /** UTF-8 JSON of the x402 v2 PaymentPayload. */
  payment: Uint8Array
}

const fromBase64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'))
const toBase64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')

/**
 * The paid-call pipeline (spec §5): validate in order, reserve, settle and wait for the receipt, execute, store the
 * result, respond — and answer re-asks from the stored record (spec §4.4), finishing calls a restart interrupted.
 */
export class PaidCalls {
  private readonly server: X402ServerImpl
  /** Validations in progress by call key, so two frames with one correlation id never both pass validation. */
  private readonly validating = new Map<string, Promise<CallRecord>>()
  /** `(payer, nonce)` pairs being validated in this process: the persistent store only sees them at reservation. */
  private readonly inflight = new Set<string>()
  /** Calls advancing in this process; re-asks wait on them. */
  private readonly running = new Map<string, Promise<CallRecord>>()

  constructor(server: X402ServerImpl) {
    this.server = server
  }

  /**
   * Runs a paid request to its outcome (spec §5): validation errors are thrown as {@link X402Error}; otherwise the
   * returned record is `done`, `failed` (stored outcome) or still `settling` (answer SETTLEMENT_PENDING).
   */
  async process(peer: PeerId, call: PaidCallInput): Promise<CallRecord> {
    const resource = this.server.resource(call.resource)
    if (resource == null) throw X402Error.of('UNKNOWN_RESOURCE', `no resource "${call.resource}"`)
    if (resource.price == null) throw X402Error.of('PAYMENT_INVALID', `resource "${call.resource}" is free`)
    if (call.body.byteLength > (resource.maxBodySize ?? this.server.config.maxBodySize)) {
      throw new ProtocolViolationError('request body over the resource limit')
    }
    const key = `${peer}/${call.correlationId}`
    // A frame for a call that is still being validated (e.g. a re-ask racing the original) waits for that attempt,
    // then is answered like any re-ask from the stored record — or validated itself if the first attempt was refused.
    for (let current = this.validating.get(key); current != null; current = this.validating.get(key)) {
      await current.catch(() => undefined)
    }
    const existing = await this.server.calls.get(key)
    if (existing != null) return this.reask(key, existing, call.payment)
    if (this.validating.has(key)) return this.process(peer, call) // claimed while we read the store: wait again
    const attempt = this.validateAndReserve(peer, key, call, this.server.quote(resource))
    this.validating.set(key, attempt)
    let record: CallRecord
    try {
      record = await attempt
    } finally {
      this.validating.delete(key)
    }
    return this.run(key, record, false)
  }

  /** Spec §5 steps 5–9. Throws the first failing check's error; on success the call is reserved on disk. */
  private async validateAndReserve(
    peer: PeerId,
    key: string,
    request: PaidCallInput,
    offered: PaymentRequirements
  ): Promise<CallRecord> {
    const { correlationId } = request
    const { payload, authorization, signature } = parseExactPayment(request.payment)
    const requirements = matchAccepted(payload, [offered])
    const detail = (error?: X402Error): PaymentEventDetail => ({
      peer,
      correlationId,
      resource: request.resource,
      requirements,
      payer: authorization.from,
      ...(error != null ? { error: { codeName: error.codeName, message: error.message } } : {})
    })
    try {
      if (authorization.to !== getAddress(requirements.payTo)) {
        throw X402Error.of('PAYEE_WRONG', `authorization pays ${authorization.to}, not ${requirements.payTo}`)
      }
      if (BigInt(authorization.value) !== BigInt(requirements.amount)) {
        throw X402Error.of('AMOUNT_WRONG', `authorization is for ${authorization.value}, not ${requirements.amount}`)
      }
      const now = Math.floor(Date.now() / 1000)
      await this.checkChallenge(key, request.resource, requirements, authorization.nonce, now)

      const nonceKey = `${authorization.from.toLowerCase()}/${authorization.nonce}`
      if (this.inflight.has(nonceKey)) throw X402Error.of('NONCE_USED', 'this authorization is already being processed')
      this.inflight.add(nonceKey)
      try {
        if ((await this.server.nonces.get(nonceKey)) != null) {
          throw X402Error.of('NONCE_USED', 'this authorization was already presented')
        }
        this.checkWindow(authorization.validAfter, authorization.validBefore, requirements, now)
        const settler = this.server.settler
        if (settler == null) throw X402Error.of('PAYMENT_INVALID', 'this server cannot take payments')
        const verdict = await settler.verify(payload, requirements, { signal: this.server.stopSignal })
        if (!verdict.isValid) throw verifyFailure(verdict)

        const expiresAt = Math.max(
          Date.now() + this.server.config.recordTtlMs,
          Number(authorization.validBefore) * 1000
        )
        const record: CallRecord = {
          peer: peer.toString(),
          correlationId,
          resource: request.resource,
          state: 'reserved',
          payment: payload,
          signature,
          requirements,
          body: toBase64(request.body),
          contentType: request.contentType,
          updatedAt: Date.now()
        }
        // One atomic batch: the nonce is used and the call reserved, or neither.
        const batch = this.server.datastore.batch()
        batch.put(
          this.server.nonces.key(nonceKey),
          this.server.nonces.encode({ peer: peer.toString(), correlationId }, expiresAt)
        )
        batch.put(this.server.calls.key(key), this.server.calls.encode(record, expiresAt))
        await batch.commit()
        this.server.safeDispatchEvent('payment:verified', { detail: detail() })
        return record
      } finally {
        this.inflight.delete(nonceKey)
      }
    } catch (err) {
      if (err instanceof X402Error) this.server.safeDispatchEvent('payment:failed', { detail: detail(err) })
      throw err
    }
  }

  /** Spec §5 step 8a: challenge mode when the server issued one for this call, else preemptive (step 8b). */
  private async checkChallenge(
    key: string,
    resource: string,
    requirements: PaymentRequirements,
    nonce: string,
    now: number
  ): Promise<void> {
    const challenge = await this.server.challenges.get(key)
    if (challenge == null) return
    if (challenge.consumed) throw X402Error.of('NONCE_USED', 'challenge already used')
    // One consumption attempt per challenge, whatever the outcome.
    this.server.challengeAnswered(challenge.peer)
    await this.server.challenges.put(
      key,
      { ...challenge, consumed: true },
      challenge.expiresAt * 1000 + this.server.config.recordTtlMs
    )
    if (challenge.resource !== resource || challenge.requirementsHash !== requirementsHash(requirements)) {
      throw X402Error.of('NONCE_MISMATCH', 'challenge was issued for another resource or price')
    }
    if (challenge.nonce !== nonce) throw X402Error.of('NONCE_MISMATCH', 'authorization nonce is not the challenge')
    if (challenge.expiresAt < now) throw X402Error.of('NONCE_EXPIRED', 'challenge expired; request again')
  }

  /** Spec §5 step 8c. */
  private checkWindow(validAfter: string, validBefore: string, requirements: PaymentRequirements, now: number): void {
    const { clockSkewSeconds, minSettleWindowSeconds } = this.server.config
    const after = BigInt(validAfter)
    const before = BigInt(validBefore)
    if (after > BigInt(now + clockSkewSeconds)) {
      throw X402Error.of('INVALID_VALIDITY_WINDOW', `validAfter ${after} is in the future`)
    }
    if (before < BigInt(now + minSettleWindowSeconds)) {
      throw X402Error.of(
        'INVALID_VALIDITY_WINDOW',
        `validBefore ${before} leaves under ${minSettleWindowSeconds} s to settle`
      )
    }
    if (before > BigInt(now + requirements.maxTimeoutSeconds + clockSkewSeconds)) {
      throw X402Error.of('INVALID_VALIDITY_WINDOW', `validBefore ${before} is beyond maxTimeoutSeconds`)
    }
  }

  /** Re-ask (spec §4.4): same correlation id, same payment → the stored outcome, never a second charge. */
  private async reask(key: string, record: CallRecord, paymentBytes: Uint8Array): Promise<CallRecord> {
    const { signature } = parseExactPayment(paymentBytes)
    if (signature.toLowerCase() !== record.signature.toLowerCase()) {
      throw X402Error.of('NONCE_USED', 'correlation id already used with another payment')
    }
    return record.state === 'done' || record.state === 'failed' ? record : this.run(key, record, true)
  }

  /** Advances a call at most once at a time per key; concurrent re-asks share the same task. */
  private run(key: string, record: CallRecord, recovering: boolean): Promise<CallRecord> {
    const current = this.running.get(key)
    if (current != null) return current
    const task = this.advance(key, record, recovering).finally(() => this.running.delete(key))
    this.running.set(key, task)
    return task
  }

  private async save(key: string, record: CallRecord): Promise<CallRecord> {
    const next = { ...record, updatedAt: Date.now() }
    const validBefore = Number(
      (next.payment.payload as { authorization: { validBefore: string } }).authorization.validBefore
    )
    await this.server.calls.put(key, next, Math.max(Date.now() + this.server.config.recordTtlMs, validBefore * 1000))
    return next
  }

  /** Spec §5 steps 10–12, resumable from any stored state. */
  private async advance(key: string, start: CallRecord, recovering: boolean): Promise<CallRecord> {
    let record = start
    const settler = this.server.settler
    if (settler == null) throw X402Error.of('SETTLEMENT_FAILED', 'this server cannot settle payments')
    const payer = getAddress((record.payment.payload as { authorization: { from: Address } }).authorization.from)
    const peer = this.server.peerOf(record.peer)
    const detail = (extra: Partial<PaymentEventDetail> = {}): PaymentEventDetail => ({
      peer,
      correlationId: record.correlationId,
      resource: record.resource,
      requirements: record.requirements,
      payer,
      ...extra
    })
    const payload: PaymentPayload = record.payment

    if (record.state === 'reserved' || record.state === 'settling') {
      const pendingTx = record.settlement?.transaction
      const found = recovering ? await settler.findSettlement?.(payload, record.requirements) : undefined
      if (found != null) {
        record = await this.save(key, { ...record, state: 'settled', settlement: found })
      } else if (recovering && pendingTx != null && pendingTx !== '') {
        return record // still pending: answer SETTLEMENT_PENDING again, never broadcast twice
      } else {
        record = await this.save(key, { ...record, state: 'settling' })
        let result = await settler.settle(payload, record.requirements, { signal: this.server.stopSignal })
        if (!result.success && /nonce_already_used/.test(result.errorReason ?? '')) {
          // Used already — by an earlier broadcast of ours, or by the buyer submitting it: if the money reached the
          // payee, the call is paid.
          result = (await settler.findSettlement?.(payload, record.requirements)) ?? result
        }
        if (result.success) {
          record = await this.save(key, { ...record, state: 'settled', settlement: result })
        } else if (result.errorReason === 'settlement_pending') {
          return this.save(key, { ...record, settlement: result })
        } else {
          const err = settleFailure(result)
          this.server.safeDispatchEvent('payment:failed', {
            detail: detail({ error: { codeName: err.codeName, message: err.message } })
          })
          return this.save(key, { ...record, state: 'failed', error: { code: err.code, message: err.message } })
        }
      }
      this.server.safeDispatchEvent('payment:settled', {
        detail: detail(record.settlement != null ? { settlement: record.settlement } : {})
      })
    }

    if (record.state === 'settled') {
      const resource = this.server.resource(record.resource)
      try {
        if (resource == null) throw new Error(`resource "${record.resource}" is gone`)
        const output = await this.server.execute(
          resource,
          {
            resource: record.resource,
            body: fromBase64(record.body),
            contentType: record.contentType,
            peer,
            correlationId: record.correlationId
          },
          { payer, ...(record.settlement != null ? { settlement: record.settlement } : {}) }
        )
        const result = await collect(output, this.server.config.maxResultSize)
        record = await this.save(key, { ...record, state: 'done', result: toBase64(result) })
        this.server.safeDispatchEvent('call:completed', {
          detail: detail(record.settlement != null ? { settlement: record.settlement } : {})
        })
      } catch (err) {
        // Stopping is not a failure: leave the call `settled` so a restarted node runs it for the re-ask.
        if (this.server.stopSignal.aborted) throw err
        const message = `paid call failed in the handler: ${(err as Error).message}`
        const failure = X402Error.of('EXECUTION_FAILED', message)
        record = await this.save(key, { ...record, state: 'failed', error: { code: failure.code, message } })
      }
    }
    return record
  }
}
