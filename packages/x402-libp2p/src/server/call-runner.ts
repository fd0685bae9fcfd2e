import type { PaymentPayload } from '@x402/core/types'
import { type Address, getAddress, type Hex } from 'viem'
import { ErrorCode, X402Error } from '../errors.ts'
import type { RefundOutcome } from '../settlement/refund.ts'
import {
  emptyAttempt,
  latestTransaction,
  type SettlementAttempt,
  type SettlementOutcome
} from '../settlement/settler.ts'
import { type CallRecord, validBeforeMs } from '../store/records.ts'
import { collect } from './respond.ts'
import type { X402ServerImpl } from './server.ts'
import type { PaymentEventDetail } from './types.ts'

/** How long a paid call waits for its resource to be registered (after a restart) before it fails. */
const MISSING_RESOURCE_GRACE_MS = 60_000

/** A refund owed is kept until paid, whatever the record TTL. */
const KEEP = Number.MAX_SAFE_INTEGER

const fromBase64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'))
const toBase64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')

/** What running the handler gave: the result, a failure (its class name only), or "resource not registered yet". */
type Execution = { result: Uint8Array } | { failure: string } | 'wait'

/**
 * Moves a reserved paid call to a terminal state (spec §5 steps 10–12, §7.1, §7.5), from whatever state was persisted.
 * Settlement goes through the settler, which persists each transaction before broadcasting it; refunds through its
 * refunder, likewise. `order: 'before'`: settle, run the handler, store the result — or refund when the handler fails.
 * `order: 'after'`: run the handler, store the result, settle — or end `failed` without settling. A settlement still
 * open leaves the call `settling` (and a refund `refunding`) for a re-ask or the background resolver.
 */
export class CallRunner {
  private readonly server: X402ServerImpl

  constructor(server: X402ServerImpl) {
    this.server = server
  }

  async save(key: string, record: CallRecord): Promise<CallRecord> {
    const next = { ...record, updatedAt: Date.now() }
    const expiresAt =
      next.state === 'refunding' ? KEEP : Math.max(Date.now() + this.server.config.recordTtlMs, validBeforeMs(next))
    await this.server.calls.put(key, next, expiresAt)
    return next
  }

  /** Advances the call stored under `key`; `confirmationTimeoutMs` bounds each wait for a transaction to confirm. */
  async advance(key: string, start: CallRecord, confirmationTimeoutMs: number): Promise<CallRecord> {
    let record = start
    if ((record.order ?? 'before') === 'after') {
      if (record.state === 'reserved') {
        const ran = await this.execute(key, record)
        if (ran === 'wait') return record
        if ('failure' in ran) return this.failUnsettled(key, record, ran.failure)
        record = await this.save(key, { ...record, state: 'executed', result: toBase64(ran.result) })
      }
      if (record.state === 'executed' || record.state === 'settling') {
        record = await this.settle(key, record, confirmationTimeoutMs)
        if (record.state === 'settled') return this.complete(key, record)
      }
      return record
    }
    if (record.state === 'reserved' || record.state === 'settling') {
      record = await this.settle(key, record, confirmationTimeoutMs)
    }
    if (record.state === 'settled') {
      const ran = await this.execute(key, record)
      if (ran === 'wait') return record
      if ('result' in ran) return this.complete(key, { ...record, result: toBase64(ran.result) })
      // Paid, no result: the payment is owed back. Persisted before any refund transaction is signed.
      this.server.handlerFailed(payerOf(record.payment))
      record = await this.save(key, {
        ...record,
        state: 'refunding',
        refund: { attempt: emptyAttempt() },
        error: { code: ErrorCode.EXECUTION_FAILED, message: failureMessage(ran.failure) }
      })
    }
    if (record.state === 'refunding') record = await this.refund(key, record, confirmationTimeoutMs)
    return record
  }

  private detail(record: CallRecord, extra: Partial<PaymentEventDetail> = {}): PaymentEventDetail {
    return {
      peer: this.server.peerOf(record.peer),
      correlationId: record.correlationId,
      resource: record.resource,
      requirements: record.requirements,
      payer: payerOf(record.payment),
      ...extra
    }
  }

  /**
   * Settles (or resumes settling) the call's payment. Resolves with the call `settled`, `void` (finished) or still
   * `settling` (scheduled for the resolver).
   */
  private async settle(key: string, start: CallRecord, confirmationTimeoutMs: number): Promise<CallRecord> {
    let record = start
    const settler = this.server.settler
    if (settler == null) throw X402Error.of('SERVICE_UNAVAILABLE', 'this server cannot settle payments')
    const attempt = record.attempt ?? emptyAttempt()
    const persist = async (next: SettlementAttempt): Promise<void> => {
      const before = latestTransaction(record.attempt ?? emptyAttempt())?.hash
      record = await this.save(key, { ...record, state: 'settling', attempt: next })
      const tx = latestTransaction(next)
      if (tx != null && tx.hash !== before) {
        this.server.safeDispatchEvent('payment:submitted', { detail: this.detail(record, { transaction: tx.hash }) })
      }
    }
    let outcome: SettlementOutcome
    try {
      outcome = await settler.settle(record.payment, record.requirements, attempt, {
        persist,
        confirmationTimeoutMs,
        signal: this.server.stopSignal
      })
    } catch (err) {
      if (this.server.stopSignal.aborted) throw err
      // The outcome could not be determined (e.g. the chain is unreachable): the call stays pending, and the
      // resolver tries again. Nothing here says money did not move.
      this.server.log('settlement of %s undetermined - %e', key, err)
      const current = record.attempt ?? attempt
      outcome = { status: 'pending', attempt: { ...current, reason: current.reason ?? 'settler_unavailable' } }
    }
    if (outcome.status === 'pending') {
      record = await this.save(key, { ...record, state: 'settling', attempt: outcome.attempt })
      this.server.resolver.schedule(key, validBeforeMs(record))
      return record
    }
    if (outcome.status === 'void') {
      const err = X402Error.of('SETTLEMENT_FAILED', `${outcome.reason}: ${outcome.message}; no money moved`, {
        reason: outcome.reason
      })
      // A result computed before settlement (`after`) is not delivered unpaid.
      const { result: _, ...unpaid } = record
      record = await this.save(key, {
        ...unpaid,
        state: 'void',
        attempt: outcome.attempt,
        error: { code: err.code, message: err.message, details: { reason: outcome.reason } }
      })
      await this.finish(key)
      this.server.safeDispatchEvent('payment:failed', {
        detail: this.detail(record, { error: { codeName: err.codeName, message: err.message } })
      })
      return record
    }
    record = await this.save(key, {
      ...record,
      state: 'settled',
      attempt: outcome.attempt,
      settlement: outcome.settlement,
      settledAt: Date.now()
    })
    this.server.safeDispatchEvent('payment:settled', {
      detail: this.detail(record, { settlement: outcome.settlement })
    })
    return record
  }

  /** Runs the call's handler and collects its result under the result size limit. */
  private async execute(key: string, record: CallRecord): Promise<Execution> {
    const resource = this.server.resource(record.resource)
    if (resource == null && Date.now() - (record.settledAt ?? record.updatedAt) < MISSING_RESOURCE_GRACE_MS) {
      // A restarted node resumes calls before the application has registered its resources again: wait for it.
      this.server.resolver.schedule(key, validBeforeMs(record))
      return 'wait'
    }
    try {
      if (resource == null) throw new Error(`resource "${record.resource}" is gone`)
      const output = await this.server.execute(
        resource,
        {
          resource: record.resource,
          body: fromBase64(record.body),
          contentType: record.contentType,
          peer: this.server.peerOf(record.peer),
          correlationId: record.correlationId
        },
        { payer: payerOf(record.payment), ...(record.settlement != null ? { settlement: record.settlement } : {}) }
      )
      return { result: await collect(output, this.server.config.maxResultSize) }
    } catch (err) {
      // Stopping is not a failure: leave the call as it is so a restarted node runs it.
      if (this.server.stopSignal.aborted) throw err
      // The handler's own message stays in the local log: it can carry paths, hosts or secrets (spec §10.4).
      this.server.log.error('paid call %s failed in the handler - %e', key, err)
      return { failure: err instanceof Error && /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(err.name) ? err.name : 'Error' }
    }
  }

  /** Paid and executed: the result is stored and the call is `done`. */
  private async complete(key: string, settled: CallRecord): Promise<CallRecord> {
    const record = await this.save(key, { ...settled, state: 'done' })
    await this.finish(key)
    this.server.safeDispatchEvent('call:completed', {
      detail: this.detail(record, record.settlement != null ? { settlement: record.settlement } : {})
    })
    return record
  }

  /** `after`: the handler failed before anything was settled — the call ends `failed` and the payment is dropped. */
  private async failUnsettled(key: string, reserved: CallRecord, failure: string): Promise<CallRecord> {
    this.server.handlerFailed(payerOf(reserved.payment))
    const message = `${failureMessage(failure)}; the payment was not settled, nothing was charged`
    const error = X402Error.of('EXECUTION_FAILED', message, { charged: false })
    const record = await this.save(key, {
      ...reserved,
      state: 'failed',
      error: { code: error.code, message, details: { charged: false } }
    })
    this.server.settler?.release?.(record.payment)
    await this.finish(key)
    this.server.safeDispatchEvent('payment:failed', {
      detail: this.detail(record, { error: { codeName: error.codeName, message } })
    })
    return record
  }

  /** Pays (or resumes paying) the refund of a settled call whose handler failed (spec §7.5). */
  private async refund(key: string, start: CallRecord, confirmationTimeoutMs: number): Promise<CallRecord> {
    let record = start
    const attempt = record.refund?.attempt ?? emptyAttempt()
    const refunder = this.server.settler?.refunder
    let outcome: RefundOutcome
    if (refunder == null) {
      outcome = { status: 'pending', attempt: { ...attempt, reason: 'no_refunder' } }
    } else {
      const persist = async (next: SettlementAttempt): Promise<void> => {
        const before = latestTransaction(record.refund?.attempt ?? emptyAttempt())?.hash
        record = await this.save(key, { ...record, refund: { attempt: next } })
        const tx = latestTransaction(next)
        if (tx != null && tx.hash !== before) {
          this.server.safeDispatchEvent('payment:submitted', { detail: this.detail(record, { transaction: tx.hash }) })
        }
      }
      try {
        outcome = await refunder.refund(
          {
            asset: getAddress(record.requirements.asset),
            to: payerOf(record.payment),
            amount: BigInt(record.requirements.amount),
            reference: (record.payment.payload as { authorization: { nonce: Hex } }).authorization.nonce
          },
          attempt,
          { persist, confirmationTimeoutMs, signal: this.server.stopSignal }
        )
      } catch (err) {
        if (this.server.stopSignal.aborted) throw err
        this.server.log('refund of %s undetermined - %e', key, err)
        const current = record.refund?.attempt ?? attempt
        outcome = { status: 'pending', attempt: { ...current, reason: current.reason ?? 'refunder_unavailable' } }
      }
    }
    if (outcome.status === 'pending') {
      if (outcome.attempt.reason != null && outcome.attempt.reason !== 'refund_unknown') {
        this.server.log.error('refund of %s owed and not sent: %s', key, outcome.attempt.reason)
      }
      record = await this.save(key, { ...record, refund: { attempt: outcome.attempt } })
      this.server.resolver.schedule(key, 0)
      return record
    }
    const refund = {
      transaction: outcome.transaction,
      amount: record.requirements.amount,
      asset: record.requirements.asset,
      network: record.requirements.network
    }
    const message = `${record.error?.message ?? failureMessage('Error')}; refunded in ${outcome.transaction}`
    record = await this.save(key, {
      ...record,
      state: 'refunded',
      refund: { attempt: outcome.attempt, transaction: outcome.transaction },
      error: { code: ErrorCode.EXECUTION_FAILED, message, details: { charged: true, refund } }
    })
    await this.finish(key)
    this.server.safeDispatchEvent('payment:refunded', {
      detail: this.detail(record, {
        transaction: outcome.transaction,
        ...(record.settlement != null ? { settlement: record.settlement } : {})
      })
    })
    return record
  }

  private async finish(key: string): Promise<void> {
    this.server.resolver.unschedule(key)
    await this.server.pending.remove(key)
  }
}

/** What the buyer is told about a handler failure: the error class only (spec §10.4). */
function failureMessage(errorName: string): string {
  return `paid call failed in the handler (${errorName})`
}

function payerOf(payment: PaymentPayload): Address {
  return getAddress((payment.payload as { authorization: { from: Address } }).authorization.from)
}
