import type { PeerId } from '@libp2p/interface'
import type { PaymentRequirements } from '@x402/core/types'
import { getAddress } from 'viem'
import { ProtocolViolationError, X402Error } from '../errors.ts'
import { parseExactPayment } from '../payment.ts'
import { matchAccepted, requirementsHash } from '../requirements.ts'
import { SettlerUnavailableError } from '../settlement/settler.ts'
import { verifyFailure } from '../settlement/verdicts.ts'
import type { CallRecord, ChallengeRecord, SettlementOrder } from '../store/records.ts'
import { TERMINAL_STATES } from '../store/records.ts'
import { CallRunner } from './call-runner.ts'
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

const toBase64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')

/**
 * The paid-call pipeline (spec §5): validate in order, reserve, settle, execute, store the result, respond — and
 * answer re-asks from the stored record (spec §4.4), finishing calls a restart or a fault interrupted.
 */
export class PaidCalls {
  private readonly server: X402ServerImpl
  private readonly runner: CallRunner
  /** Validations in progress by call key, so two frames with one correlation id never both pass validation. */
  private readonly validating = new Map<string, Promise<CallRecord>>()
  /** `(payer, nonce)` pairs being validated in this process: the persistent store only sees them at reservation. */
  private readonly inflight = new Set<string>()
  /** Calls advancing in this process; re-asks and the resolver share them. */
  private readonly running = new Map<string, Promise<CallRecord>>()

  constructor(server: X402ServerImpl) {
    this.server = server
    this.runner = new CallRunner(server)
  }

  /**
   * Runs a paid request to its outcome (spec §5): validation errors are thrown as {@link X402Error}; otherwise the
   * returned record is `done`, `failed`, `void` (stored outcome) or still pending (answer SETTLEMENT_PENDING).
   */
  async process(peer: PeerId, call: PaidCallInput): Promise<CallRecord> {
    const key = `${peer}/${call.correlationId}`
    // A frame for a call that is still being validated (e.g. a re-ask racing the original) waits for that attempt,
    // then is answered like any re-ask from the stored record — or validated itself if the first attempt was refused.
    for (let current = this.validating.get(key); current != null; current = this.validating.get(key)) {
      await current.catch(() => undefined)
    }
    // A re-ask is answered from its record before anything else is checked (spec §4.4): a paid call's outcome must not
    // depend on whether its resource is registered again yet after a restart.
    const existing = await this.server.calls.get(key)
    if (existing != null) return this.reask(key, existing, call.payment)
    if (this.validating.has(key)) return this.process(peer, call) // claimed while we read the store: wait again
    const resource = this.server.resource(call.resource)
    if (resource == null) throw X402Error.of('UNKNOWN_RESOURCE', `no resource "${call.resource}"`)
    if (resource.price == null) throw X402Error.of('PAYMENT_INVALID', `resource "${call.resource}" is free`)
    if (call.body.byteLength > (resource.maxBodySize ?? this.server.config.maxBodySize)) {
      throw new ProtocolViolationError('request body over the resource limit')
    }
    // Deterministic checks of the input before anything is verified or reserved (spec §5 step 4).
    await this.server.validate(resource, {
      resource: call.resource,
      body: call.body,
      contentType: call.contentType,
      peer,
      correlationId: call.correlationId
    })
    // The validator awaited: a concurrent frame for this call may have been claimed or stored meanwhile.
    const stored = await this.server.calls.get(key)
    if (stored != null) return this.reask(key, stored, call.payment)
    if (this.validating.has(key)) return this.process(peer, call)
    const order = this.server.settlementOrder(resource)
    const attempt = this.validateAndReserve(peer, key, call, this.server.quote(resource), order)
    this.validating.set(key, attempt)
    let record: CallRecord
    try {
      record = await attempt
    } finally {
      this.validating.delete(key)
    }
    return this.run(key, this.server.config.confirmationTimeoutMs, record)
  }

  /**
   * Resumes a pending call from its stored record (the background resolver, spec §7.3). Resolves with the record as
   * it now stands, or `undefined` when no record exists any more.
   */
  async resume(key: string, confirmationTimeoutMs: number): Promise<CallRecord | undefined> {
    const record = await this.server.calls.get(key)
    if (record == null || TERMINAL_STATES.has(record.state)) {
      if (this.server.pending.has(key) && !this.running.has(key)) await this.runner.reconcile(key, record)
      return record
    }
    return this.run(key, confirmationTimeoutMs)
  }

  /**
   * Recovery (spec §7.3, §7.4): a pending entry found at start whose call is terminal or gone — a crash between the
   * call's last write and the removal of its entry — is removed, with its room and credit (and a default the record
   * proves is written). Resolves with whether it was.
   */
  async reconcile(key: string): Promise<boolean> {
    const record = await this.server.calls.get(key)
    if (record != null && !TERMINAL_STATES.has(record.state)) return false
    await this.runner.reconcile(key, record)
    return true
  }

  /** Spec §5 steps 5–9. Throws the first failing check's error; on success the call is reserved on disk. */
  private async validateAndReserve(
    peer: PeerId,
    key: string,
    request: PaidCallInput,
    offered: PaymentRequirements,
    order: SettlementOrder
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
    let challenge: ChallengeRecord | undefined
    let reserved = false
    let claimed = false
    // A deferred call holds its amount of the payer's credit from before verification until it is terminal.
    const deferred = order === 'deferred' ? BigInt(authorization.value) : undefined
    let credited = false
    try {
      if (authorization.to !== getAddress(requirements.payTo)) {
        throw X402Error.of('PAYEE_WRONG', `authorization pays ${authorization.to}, not ${requirements.payTo}`)
      }
      if (BigInt(authorization.value) !== BigInt(requirements.amount)) {
        throw X402Error.of('AMOUNT_WRONG', `authorization is for ${authorization.value}, not ${requirements.amount}`)
      }
      const now = Math.floor(Date.now() / 1000)
      challenge = await this.server.challenges.get(key)
      if (challenge != null) this.checkChallenge(challenge, request.resource, requirements, authorization.nonce, now)

      const nonceKey = `${authorization.from.toLowerCase()}/${authorization.nonce}`
      if (this.inflight.has(nonceKey)) throw X402Error.of('NONCE_USED', 'this authorization is already being processed')
      this.inflight.add(nonceKey)
      try {
        if ((await this.server.nonces.get(nonceKey)) != null) {
          throw X402Error.of('NONCE_USED', 'this authorization was already presented')
        }
        this.checkWindow(authorization.validAfter, authorization.validBefore, requirements, now)
        this.server.checkFailures(authorization.from)
        const settler = this.server.settler
        if (settler == null) throw X402Error.of('PAYMENT_INVALID', 'this server cannot take payments')
        if (deferred != null && this.server.defaults.get(authorization.from) != null) {
          throw X402Error.of(
            'PAYMENT_INVALID',
            'a deferred settlement of this payer failed: its deferred calls are refused until that is cleared',
            { reason: 'payer_in_default' }
          )
        }
        // Room for one more call in progress, overall and for this payer, claimed before the (slow) verification.
        if (!this.server.pending.claim(authorization.from)) {
          throw X402Error.of('SERVICE_UNAVAILABLE', 'too many paid calls in progress; retry later', {
            retryAfterMs: 2_000
          })
        }
        claimed = true
        if (deferred != null) {
          const limit = this.server.config.deferredCreditLimit
          if (!this.server.pending.claimCredit(authorization.from, deferred, limit)) {
            throw X402Error.of('RATE_LIMITED', `this payer owes ${limit} or more in deferred calls not yet settled`, {
              reason: 'credit_limit',
              retryAfterMs: 2_000
            })
          }
          credited = true
        }
        let verdict: Awaited<ReturnType<typeof settler.verify>>
        try {
          const signal = this.server.stopSignal
          verdict =
            deferred != null && settler.verifyDeferred != null
              ? await settler.verifyDeferred(
                  payload,
                  requirements,
                  this.server.pending.owedBy(authorization.from) - deferred,
                  { signal }
                )
              : await settler.verify(payload, requirements, { signal })
        } catch (err) {
          if (!(err instanceof SettlerUnavailableError)) throw err
          // Infrastructure, not a verdict: nothing was reserved and the challenge stays usable (spec §8). The details
          // (RPC or facilitator errors, which can name endpoints) stay in the local log.
          this.server.log('verification of %s unavailable - %s', key, err.message)
          throw X402Error.of(
            'SERVICE_UNAVAILABLE',
            "payment could not be verified now: the seller's chain or facilitator is unavailable; retry",
            { retryAfterMs: 1_000 }
          )
        }
        if (!verdict.isValid) throw verifyFailure(verdict)

        const validBefore = Number(authorization.validBefore) * 1000
        const expiresAt = Math.max(Date.now() + this.server.config.recordTtlMs, validBefore)
        const record: CallRecord = {
          peer: peer.toString(),
          correlationId,
          resource: request.resource,
          state: 'reserved',
          order,
          payment: payload,
          signature,
          requirements,
          body: toBase64(request.body),
          contentType: request.contentType,
          updatedAt: Date.now()
        }
        // One atomic batch: the challenge consumed, the nonce used, the call reserved and listed as pending — or none.
        const batch = this.server.datastore.batch()
        batch.put(
          this.server.nonces.key(nonceKey),
          this.server.nonces.encode({ peer: peer.toString(), correlationId }, expiresAt)
        )
        batch.put(this.server.calls.key(key), this.server.calls.encode(record, expiresAt))
        this.server.pending.addInto(batch, key, authorization.from, validBefore, expiresAt, deferred)
        if (challenge != null) this.server.challenges.consumeInto(batch, key, challenge)
        try {
          await batch.commit()
        } catch (err) {
          settler.release?.(payload)
          throw err
        }
        reserved = true
        claimed = false
        credited = false
        this.server.pending.added(key, authorization.from, validBefore, deferred)
        if (challenge != null) this.server.challengeAnswered(challenge.peer)
        this.server.safeDispatchEvent('payment:verified', { detail: detail() })
        return record
      } finally {
        this.inflight.delete(nonceKey)
      }
    } catch (err) {
      if (claimed) this.server.pending.unclaim(authorization.from)
      if (credited && deferred != null) this.server.pending.unclaimCredit(authorization.from, deferred)
      // One attempt per challenge (spec §5 step 8a) — unless the answer is "could not check now".
      if (challenge != null && !reserved && !(err instanceof X402Error && err.codeName === 'SERVICE_UNAVAILABLE')) {
        await this.server.challenges.consume(key, challenge).catch(() => {})
        this.server.challengeAnswered(challenge.peer)
      }
      if (err instanceof X402Error) this.server.safeDispatchEvent('payment:failed', { detail: detail(err) })
      throw err
    }
  }

  /** Spec §5 step 8a: the payment answers this challenge, which is unconsumed, unexpired and bound to this offer. */
  private checkChallenge(
    challenge: ChallengeRecord,
    resource: string,
    requirements: PaymentRequirements,
    nonce: string,
    now: number
  ): void {
    if (challenge.consumed) throw X402Error.of('NONCE_USED', 'challenge already used')
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
    if (TERMINAL_STATES.has(record.state)) return record
    // A deferred call's result was delivered before its settlement: answered from the record, settling goes on.
    if (record.order === 'deferred' && record.result != null) {
      this.settleLater(key)
      return record
    }
    return this.run(key, this.server.config.confirmationTimeoutMs)
  }

  /** Settles a deferred call in the background (it joins the next batch); the resolver takes over if it stays pending. */
  private settleLater(key: string): void {
    if (this.running.has(key)) return
    this.run(key, this.server.config.confirmationTimeoutMs).catch((err: unknown) => {
      if (this.server.stopSignal.aborted) return
      this.server.log.error('deferred settlement of %s failed - %e', key, err)
    })
  }

  /**
   * Advances a call at most once at a time per key; concurrent re-asks and the resolver share the same task. The task
   * starts from the record as stored when it starts (another task may have moved it on), or from `reserved` — the
   * record just written by the reservation.
   */
  private run(key: string, confirmationTimeoutMs: number, reserved?: CallRecord): Promise<CallRecord> {
    const current = this.running.get(key)
    if (current != null) return current
    const task = (async (): Promise<CallRecord> => {
      const record = reserved ?? (await this.server.calls.get(key))
      if (record == null) throw X402Error.of('SERVICE_UNAVAILABLE', 'the call record expired')
      if (TERMINAL_STATES.has(record.state)) return record
      return this.runner.advance(key, record, confirmationTimeoutMs)
    })().finally(() => this.running.delete(key))
    this.running.set(key, task)
    // A deferred call answers once executed; its settlement starts as soon as that task is done.
    void task.then(
      (record) => {
        if (record.order === 'deferred' && record.state === 'executed') this.settleLater(key)
      },
      () => {}
    )
    return task
  }
}
