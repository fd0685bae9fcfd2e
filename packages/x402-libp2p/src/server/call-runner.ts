import type { PaymentPayload } from '@x402/core/types'
import { type Address, getAddress } from 'viem'
import { X402Error } from '../errors.ts'
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

const fromBase64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'))
const toBase64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')

/**
 * Moves a reserved paid call through settlement and execution (spec §5 steps 10–12, §7.1), from whatever state was
 * persisted: settle (or resume the settlement in flight) through the settler, which persists each transaction before
 * broadcasting it; on `settled` run the handler and store the result; on `void` store SETTLEMENT_FAILED; otherwise
 * leave the call `settling` for a re-ask or the background resolver.
 */
export class CallRunner {
  private readonly server: X402ServerImpl

  constructor(server: X402ServerImpl) {
    this.server = server
  }

  async save(key: string, record: CallRecord): Promise<CallRecord> {
    const next = { ...record, updatedAt: Date.now() }
    await this.server.calls.put(key, next, Math.max(Date.now() + this.server.config.recordTtlMs, validBeforeMs(next)))
    return next
  }

  /** Advances the call stored under `key`; `confirmationTimeoutMs` bounds the wait for a transfer to confirm. */
  async advance(key: string, start: CallRecord, confirmationTimeoutMs: number): Promise<CallRecord> {
    let record = start
    const settler = this.server.settler
    if (settler == null) throw X402Error.of('SERVICE_UNAVAILABLE', 'this server cannot settle payments')
    const payer = getAddress((record.payment.payload as { authorization: { from: Address } }).authorization.from)
    const detail = (extra: Partial<PaymentEventDetail> = {}): PaymentEventDetail => ({
      peer: this.server.peerOf(record.peer),
      correlationId: record.correlationId,
      resource: record.resource,
      requirements: record.requirements,
      payer,
      ...extra
    })
    const payload: PaymentPayload = record.payment

    if (record.state === 'reserved' || record.state === 'settling') {
      const attempt = record.attempt ?? emptyAttempt()
      const persist = async (next: SettlementAttempt): Promise<void> => {
        const before = latestTransaction(record.attempt ?? emptyAttempt())?.hash
        record = await this.save(key, { ...record, state: 'settling', attempt: next })
        const tx = latestTransaction(next)
        if (tx != null && tx.hash !== before) {
          this.server.safeDispatchEvent('payment:submitted', { detail: detail({ transaction: tx.hash }) })
        }
      }
      let outcome: SettlementOutcome
      try {
        outcome = await settler.settle(payload, record.requirements, attempt, {
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
        record = await this.save(key, {
          ...record,
          state: 'void',
          attempt: outcome.attempt,
          error: { code: err.code, message: err.message, details: { reason: outcome.reason } }
        })
        await this.finish(key)
        this.server.safeDispatchEvent('payment:failed', {
          detail: detail({ error: { codeName: err.codeName, message: err.message } })
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
      this.server.safeDispatchEvent('payment:settled', { detail: detail({ settlement: outcome.settlement }) })
    }

    if (record.state === 'settled') {
      const resource = this.server.resource(record.resource)
      if (resource == null && Date.now() - (record.settledAt ?? record.updatedAt) < MISSING_RESOURCE_GRACE_MS) {
        // A restarted node resumes calls before the application has registered its resources again: wait for it.
        this.server.resolver.schedule(key, validBeforeMs(record))
        return record
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
          { payer, ...(record.settlement != null ? { settlement: record.settlement } : {}) }
        )
        const result = await collect(output, this.server.config.maxResultSize)
        record = await this.save(key, { ...record, state: 'done', result: toBase64(result) })
        await this.finish(key)
        this.server.safeDispatchEvent('call:completed', {
          detail: detail(record.settlement != null ? { settlement: record.settlement } : {})
        })
      } catch (err) {
        // Stopping is not a failure: leave the call `settled` so a restarted node runs it.
        if (this.server.stopSignal.aborted) throw err
        // The handler's own message stays in the local log: it can carry paths, hosts or secrets (spec §10.4).
        this.server.log.error('paid call %s failed in the handler - %e', key, err)
        const name = err instanceof Error && /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(err.name) ? err.name : 'Error'
        const message = `paid call failed in the handler (${name})`
        const failure = X402Error.of('EXECUTION_FAILED', message)
        record = await this.save(key, { ...record, state: 'failed', error: { code: failure.code, message } })
        await this.finish(key)
      }
    }
    return record
  }

  private async finish(key: string): Promise<void> {
    this.server.resolver.unschedule(key)
    await this.server.pending.remove(key)
  }
}
