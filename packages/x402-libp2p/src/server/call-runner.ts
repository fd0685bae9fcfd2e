import type { PaymentPayload } from '@x402/core/types'
import type { Batch } from 'interface-datastore'
import { type Address, getAddress, type Hex } from 'viem'
import { ErrorCode, X402Error } from '../errors.ts'
import type { RefundOutcome } from '../settlement/refund.ts'
import {
  emptyAttempt,
  latestTransaction,
  type SettlementAttempt,
  type SettlementOutcome
} from '../settlement/settler.ts'
import { type CallRecord, TERMINAL_STATES, validBeforeMs } from '../store/records.ts'
import type { PayerFailure } from './defaults.ts'
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
  /**
   * Handlers of deferred calls that had not ended when their call had to be settled first (spec §7.7): still running,
   * their outcome is taken once the payment is confirmed — a handler is not run twice.
   */
  private readonly runs = new Map<string, Promise<Execution>>()

  constructor(server: X402ServerImpl) {
    this.server = server
  }

  /**
   * Persists the call's record. A terminal record is written in one datastore batch with the removal of the call's
   * pending entry and — for a deferred call that failed for its payer's doing — the payer's default (counted at once),
   * and only then is the call's room and credit released: no call is served on credit the failure freed, and a crash
   * cannot keep the record without the default.
   */
  async save(key: string, record: CallRecord): Promise<CallRecord> {
    const next = { ...record, updatedAt: Date.now() }
    const expiresAt =
      next.state === 'refunding' ? KEEP : Math.max(Date.now() + this.server.config.recordTtlMs, validBeforeMs(next))
    // A batch's raw transaction and member ids are stored once for the batch (written first), not in every record.
    const attempt = await this.server.batches.detach(next.attempt, expiresAt)
    const stored = attempt == null || attempt === next.attempt ? next : { ...next, attempt }
    if (!TERMINAL_STATES.has(next.state)) {
      await this.server.calls.put(key, stored, expiresAt)
      return next
    }
    const batch = this.server.datastore.batch()
    batch.put(this.server.calls.key(key), this.server.calls.encode(stored, expiresAt))
    await this.terminate(key, next, batch)
    return next
  }

  /**
   * A pending entry whose call is terminal or gone — a crash after the call's last write and before the removal of its
   * entry (by an earlier version, or a datastore whose batches are not atomic): the entry is removed (its room and
   * credit released) and a default the record proves is written, as {@link save} would have.
   */
  async reconcile(key: string, record: CallRecord | undefined): Promise<void> {
    this.server.log('call %s is %s: its pending entry is removed', key, record?.state ?? 'gone')
    await this.terminate(key, record, this.server.datastore.batch())
  }

  /** Commits `batch` with the default `record` proves and the removal of its pending entry, then releases the call. */
  private async terminate(key: string, record: CallRecord | undefined, batch: Batch): Promise<void> {
    const failure = record == null ? undefined : this.defaultOf(key, record)
    if (failure != null && this.server.defaults.markInto(batch, failure)) {
      this.server.log.error(
        'deferred settlement of %s failed (%s): payer %s in default',
        key,
        failure.reason,
        failure.payer
      )
    }
    this.server.pending.removeInto(batch, key)
    this.server.resolver.unschedule(key)
    this.runs.delete(key)
    await batch.commit()
    this.server.pending.removed(key)
  }

  /** Advances the call stored under `key`; `confirmationTimeoutMs` bounds each wait for a transaction to confirm. */
  async advance(key: string, start: CallRecord, confirmationTimeoutMs: number): Promise<CallRecord> {
    let record = start
    const order = record.order ?? 'before'
    if (order === 'after' || order === 'deferred') {
      if (record.state === 'reserved') {
        const ran = order === 'deferred' ? await this.executeDeferred(key, record) : await this.execute(key, record)
        if (ran === 'wait') return record
        if (ran === 'late') {
          // No time left to answer on credit and settle after: the call is settled first, as `before` (the handler
          // already running is not run again, and a failure after payment is refunded).
          record = await this.save(key, { ...record, order: 'before' })
          return this.advance(key, record, confirmationTimeoutMs)
        }
        if ('failure' in ran) return this.failUnsettled(key, record, ran.failure)
        record = await this.save(key, { ...record, state: 'executed', result: toBase64(ran.result) })
        // Deferred: the buyer is answered now; the settlement follows in the background (the next batch).
        if (order === 'deferred') return record
      }
      if (record.state === 'executed' || record.state === 'settling') {
        // The result is stored already: a confirmed transfer ends the call (`done`) in the same write.
        record = await this.settle(key, record, confirmationTimeoutMs, true)
        if (order === 'deferred') await this.checkDefault(key, record)
        if (record.state === 'done') await this.completed(key, record)
        // A record left `settled` by an earlier version of this code.
        else if (record.state === 'settled') return this.complete(key, record)
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
   * Settles (or resumes settling) the call's payment. Resolves with the call `settled` (`done` when `resultStored`:
   * its result was stored before the settlement), `void` (finished) or still `settling` (scheduled for the resolver).
   */
  private async settle(
    key: string,
    start: CallRecord,
    confirmationTimeoutMs: number,
    resultStored = false
  ): Promise<CallRecord> {
    let record = start
    const settler = this.server.settler
    if (settler == null) throw X402Error.of('SERVICE_UNAVAILABLE', 'this server cannot settle payments')
    const attempt = (await this.server.batches.attach(record.attempt)) ?? emptyAttempt()
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
      // A result computed before settlement (`after`) is not delivered unpaid. A deferred call's was delivered already:
      // kept, as the record of what was given on credit.
      const { result: _, ...unpaid } = record
      const kept = record.order === 'deferred' && record.result != null ? { result: record.result } : {}
      // (A deferred call whose payer made it fail puts the payer in default in this very write.)
      record = await this.save(key, {
        ...unpaid,
        ...kept,
        state: 'void',
        attempt: outcome.attempt,
        error: { code: err.code, message: err.message, details: { reason: outcome.reason } }
      })
      this.server.safeDispatchEvent('payment:failed', {
        detail: this.detail(record, { error: { codeName: err.codeName, message: err.message } })
      })
      return record
    }
    record = await this.save(key, {
      ...record,
      state: resultStored && record.result != null ? 'done' : 'settled',
      attempt: outcome.attempt,
      settlement: outcome.settlement,
      settledAt: Date.now()
    })
    this.server.safeDispatchEvent('payment:settled', {
      detail: this.detail(record, { settlement: outcome.settlement })
    })
    return record
  }

  /**
   * A deferred call still settling whose transfer failed for its payer's doing puts the payer in default (spec §7.7).
   * Marked once per call: a failure the operator cleared is not marked again (a void record does it in {@link save}).
   */
  private async checkDefault(key: string, record: CallRecord): Promise<void> {
    const failure = this.defaultOf(key, record)
    if (failure == null) return
    if (await this.server.defaults.mark(failure)) {
      this.server.log.error(
        'deferred settlement of %s failed (%s): payer %s in default',
        key,
        failure.reason,
        failure.payer
      )
    }
  }

  /**
   * The default a deferred call's record proves, unless its failure is accounted for already (marked, or marked and
   * cleared): the handler ran on credit and the payer made its transfer fail — it cancelled the authorization or spent
   * its nonce elsewhere, or its transfer failed on its own (balance moved away, its wallet refused the signature or
   * burnt the gas). An authorization that merely expired is no proof: the seller can cause that (a slow handler, a
   * seller that was down) — unless its transfer had failed for the payer's doing before. Nothing of the seller's or the
   * chain's (unreachable, out of gas, a batch another member sank) is either.
   */
  private defaultOf(key: string, record: CallRecord): Omit<PayerFailure, 'cleared'> | undefined {
    if (record.order !== 'deferred') return undefined
    const last = record.attempt?.reason
    const voided = record.state === 'void' ? String(record.error?.details?.reason ?? '') : undefined
    const reason =
      voided != null && PAYERS_DOING.has(voided)
        ? voided
        : (record.state === 'void' || record.state === 'settling') && last != null && PAYERS_DOING.has(last)
          ? last
          : undefined
    if (reason == null) return undefined
    const payer = payerOf(record.payment)
    if (this.server.defaults.has(payer, key)) return undefined
    return { payer: payer.toLowerCase(), call: key, reason, since: Date.now(), validBefore: validBeforeMs(record) }
  }

  /**
   * Runs a deferred call's handler to answer on credit — if it ends while there is still time to settle after: by the
   * authorization's `validBefore` less the settlement window (`minSettleWindowSeconds`). Otherwise `'late'`: the call is
   * to be settled before it is answered; the handler goes on and its outcome is taken once the payment is confirmed.
   */
  private async executeDeferred(key: string, record: CallRecord): Promise<Execution | 'late'> {
    const lateAt = validBeforeMs(record) - this.server.config.minSettleWindowSeconds * 1000
    if (Date.now() >= lateAt) return 'late'
    const run = this.execute(key, record)
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), lateAt - Date.now())
    })
    try {
      const first = await Promise.race([run, late])
      if (first === 'late') {
        run.catch(() => {})
        this.runs.set(key, run)
      }
      return first
    } finally {
      clearTimeout(timer)
    }
  }

  /** Runs the call's handler and collects its result under the result size limit. */
  private async execute(key: string, record: CallRecord): Promise<Execution> {
    const started = this.runs.get(key)
    if (started != null) {
      this.runs.delete(key)
      return started
    }
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
    await this.completed(key, record)
    return record
  }

  /** The call was stored `done`. */
  private async completed(_key: string, record: CallRecord): Promise<void> {
    this.server.safeDispatchEvent('call:completed', {
      detail: this.detail(record, record.settlement != null ? { settlement: record.settlement } : {})
    })
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
    this.server.safeDispatchEvent('payment:refunded', {
      detail: this.detail(record, {
        transaction: outcome.transaction,
        ...(record.settlement != null ? { settlement: record.settlement } : {})
      })
    })
    return record
  }
}

/**
 * Settlement failures that prove the payer made its authorization fail (spec §7.7): it cancelled the authorization or
 * spent its nonce on another one; its transfer reverted on-chain before `validBefore`, or failed simulated alone
 * (`transaction_reverted`: a batch another member sank is not its failure); it was left out of a batch or refused
 * before broadcast because its balance moved away, its wallet refused the signature or its code needs more gas than
 * the cap. Anything else — an expiry, the chain unreachable, the seller out of gas, waiting for a slot, an idle chain's
 * `validAfter` — says nothing about the payer.
 */
const PAYERS_DOING: ReadonlySet<string> = new Set([
  'authorization_canceled',
  'authorization_nonce_spent',
  'transaction_reverted',
  'invalid_exact_evm_insufficient_balance',
  'invalid_exact_evm_signature',
  'settlement_gas_over_cap'
])

/** What the buyer is told about a handler failure: the error class only (spec §10.4). */
function failureMessage(errorName: string): string {
  return `paid call failed in the handler (${errorName})`
}

function payerOf(payment: PaymentPayload): Address {
  return getAddress((payment.payload as { authorization: { from: Address } }).authorization.from)
}
