import { createHash } from 'node:crypto'
import type { Listing } from '@betar/marketplace-crdt'
import type { CallResult } from '@betar/x402-libp2p'
import type { Logger } from '@libp2p/interface'
import type { Address, Hash } from 'viem'
import { type AttemptContext, type AttemptOutcome, attemptCost, runAttempt } from './attempt.ts'
import { candidatesFor } from './candidates.ts'
import type { PlannedStep, WorkflowPlan } from './definition.ts'
import { NoSellerError, StepFailedError, StepInputError } from './errors.ts'
import { discoverSellers, min, preflight } from './preflight.ts'
import { chainEntry, receiptGenesis } from './receipt.ts'
import type { WorkflowStore } from './store.ts'
import { resolveTemplate, type TemplateContext } from './template.ts'
import type { AttemptRecord, ListingSource, StepRecord, WorkflowRecord } from './types.ts'

const decoder = new TextDecoder()

/** What a run needs from the service. */
export interface RunDeps extends Omit<AttemptContext, 'signal' | 'timeoutMs'> {
  market: ListingSource
  store: WorkflowStore
  log: Logger
  self?: string | undefined
  asset: { address: string; network: string }
  /** How long the DHT search for sellers may take before the steps are planned (0: no search). */
  discoveryTimeoutMs: number
  /** Refuses a listing (by throwing) before its seller is paid. */
  verifyListing?: ((listing: Listing, options: { signal: AbortSignal }) => Promise<void>) | undefined
}

/**
 * Runs one workflow to its end: steps whose dependencies completed run in parallel (up to `concurrency`), each buying
 * from its best listing within its cap and what is left of the budget, falling back to the next seller when one fails.
 * Every change is written to the store before the money it concerns moves.
 */
export class WorkflowRun {
  readonly record: WorkflowRecord
  readonly plan: WorkflowPlan
  readonly controller = new AbortController()
  /** Stopped with the node (not cancelled): the workflow stays `running` and resumes on the next start. */
  private halted = false
  private readonly deps: RunDeps

  constructor(record: WorkflowRecord, plan: WorkflowPlan, deps: RunDeps) {
    this.record = record
    this.plan = plan
    this.deps = deps
  }

  /** Stops the run for a node shutdown: calls in flight are aborted and re-asked when the workflow resumes. */
  halt(): void {
    this.halted = true
    this.controller.abort(new Error('the workflow service is stopping'))
  }

  /**
   * A re-ask goes to the seller's current addresses: those of its newest listing, when the market has one. `true` when
   * they changed.
   */
  private refresh(attempt: AttemptRecord): boolean {
    const fresh = this.deps.market.get(attempt.listing)
    if (fresh?.seller !== attempt.seller || fresh.multiaddrs.length === 0) return false
    if (fresh.multiaddrs.join(' ') === attempt.multiaddrs.join(' ')) return false
    attempt.multiaddrs = fresh.multiaddrs
    return true
  }

  /** Settled net of refunds, plus the caps of calls in flight or of unknown outcome: what the budget has promised. */
  committed(): bigint {
    let sum = 0n
    for (const step of Object.values(this.record.steps)) {
      for (const a of step.attempts) {
        sum += a.state === 'calling' || a.state === 'interrupted' ? BigInt(a.maxAmount) : attemptCost(a)
      }
    }
    return sum
  }

  /** What the budget still holds against the node's x402 budget: the part of the budget not spent yet. */
  outstanding(): bigint {
    const left = BigInt(this.record.budget) - this.committed()
    return left > 0n ? left : 0n
  }

  private save(): Promise<void> {
    this.record.spent = this.spent().toString()
    return this.deps.store.put(this.record)
  }

  private spent(): bigint {
    let sum = 0n
    for (const step of Object.values(this.record.steps)) for (const a of step.attempts) sum += attemptCost(a)
    return sum
  }

  private context(): TemplateContext {
    const steps: TemplateContext['steps'] = {}
    for (const [id, s] of Object.entries(this.record.steps)) {
      if (s.status === 'completed') steps[id] = { output: s.output }
    }
    return { input: this.plan.input, steps }
  }

  /** Runs until every step ended; resolves with the final record (never rejects: failures are in the record). */
  async run(): Promise<WorkflowRecord> {
    const { record } = this
    record.status = 'running'
    delete record.error
    await this.save()
    try {
      await discoverSellers(this.plan, this.record, this.deps, this.controller.signal)
      preflight(this.plan, this.record, this.context(), this.deps)
      await this.schedule()
    } catch (err) {
      if (record.error == null) record.error = `${(err as Error).name}: ${(err as Error).message}`
    }
    const steps = Object.values(record.steps)
    if (this.halted) {
      for (const s of steps) if (s.status === 'cancelled') s.status = 'running'
      await this.save()
      return record
    }
    if (this.controller.signal.aborted) {
      await this.reconcile()
      for (const s of steps) if (s.status === 'pending' || s.status === 'running') s.status = 'cancelled'
      record.status = 'cancelled'
    } else if (steps.every((s) => s.status === 'completed')) {
      record.status = 'completed'
    } else {
      for (const s of steps) if (s.status === 'pending') s.status = 'skipped'
      record.status = 'failed'
      record.error ??= steps.find((s) => s.error != null)?.error ?? 'a step failed'
    }
    await this.save()
    return record
  }

  /**
   * After a cancel: calls aborted after their payment was signed are re-asked once (never paid again), so the record
   * says what they cost — and a result that arrives completes its step.
   */
  private async reconcile(): Promise<void> {
    for (const step of this.plan.steps) {
      const rec = this.record.steps[step.id]!
      const open = rec.attempts.at(-1)
      if (open?.state !== 'interrupted') continue
      ;(open as AttemptRecord).state = 'calling'
      const signal = AbortSignal.timeout(15_000)
      const outcome = await runAttempt(
        { ...this.deps, signal, timeoutMs: 15_000, reasks: 0, refresh: (a) => this.refresh(a) },
        open
      )
      if (outcome.kind === 'done') this.complete(step, rec, open, outcome.call)
      else {
        const state = (open as AttemptRecord).state
        if (state === 'refunded' || state === 'charged') this.appendReceipt(step.id, open, state)
        else if (state === 'calling') open.state = 'interrupted'
      }
    }
  }

  private async schedule(): Promise<void> {
    const running = new Map<string, Promise<void>>()
    let failed = false
    for (;;) {
      if (!this.controller.signal.aborted && !failed) {
        for (const step of this.plan.steps) {
          if (running.size >= this.plan.concurrency) break
          const rec = this.record.steps[step.id]!
          if (running.has(step.id)) continue
          const ready =
            rec.status === 'running' ||
            rec.status === 'unresolved' ||
            (rec.status === 'pending' && step.dependsOn.every((d) => this.record.steps[d]?.status === 'completed'))
          if (!ready) continue
          running.set(
            step.id,
            this.runStep(step, rec).finally(() => running.delete(step.id))
          )
        }
      }
      if (running.size === 0) return
      await Promise.race(running.values())
      failed = Object.values(this.record.steps).some((s) => s.status === 'failed' || s.status === 'unresolved')
    }
  }

  private async runStep(step: PlannedStep, rec: StepRecord): Promise<void> {
    const signal = this.controller.signal
    const ctx: AttemptContext = { ...this.deps, signal, timeoutMs: step.timeoutMs, refresh: (a) => this.refresh(a) }
    rec.status = 'running'
    rec.startedAt ??= Date.now()
    const failures: string[] = []
    try {
      // A call sent before a restart (or left without an outcome) is re-asked under its correlation id first.
      const open = rec.attempts.at(-1)
      if (open != null && (open.state === 'calling' || open.state === 'interrupted')) {
        open.state = 'calling'
        const outcome = await runAttempt(ctx, open)
        if (await this.settleOutcome(step, rec, open, outcome, failures)) return
      }
      let input: unknown
      try {
        input = resolveTemplate(step.input, this.context())
      } catch (err) {
        throw new StepInputError(step.id, [(err as Error).message])
      }
      const body = Buffer.from(JSON.stringify(input) ?? 'null').toString('base64')
      const tried = new Set(rec.attempts.map((a) => a.listing))
      while (tried.size < step.maxSellers) {
        signal.throwIfAborted()
        const allowance = min(step.maxPrice, BigInt(this.record.budget) - this.committed())
        const { listings, skipped } = candidatesFor(step, this.deps.market, {
          allowance,
          exclude: tried,
          self: this.deps.self,
          asset: this.deps.asset.address,
          input: { value: input }
        })
        rec.skipped = skipped
        const listing = listings[0]
        if (listing == null) {
          if (
            failures.length === 0 &&
            skipped.every((s) => s.includes('refused by its schema')) &&
            skipped.length > 0
          ) {
            throw new StepInputError(step.id, skipped)
          }
          throw new NoSellerError(
            step.id,
            `no ${failures.length > 0 ? 'other ' : ''}listing within ${allowance}` +
              `${[...failures, ...skipped].length > 0 ? `: ${[...failures, ...skipped].join('; ')}` : ''}`
          )
        }
        const key = `${listing.seller}/${listing.id}`
        tried.add(key)
        let cap = allowance
        if (this.deps.verifyListing != null) {
          try {
            await this.deps.verifyListing(listing, { signal })
          } catch (err) {
            signal.throwIfAborted()
            failures.push(`${key}: refused (${(err as Error).name}: ${(err as Error).message})`)
            continue
          }
        }
        for (let n = 0; n < step.attemptsPerSeller; n++) {
          // Other steps may have committed budget since (during the check or a failed try): counted again, before
          // the attempt is recorded, with no await in between.
          if (n > 0 || this.deps.verifyListing != null) {
            cap = min(step.maxPrice, BigInt(this.record.budget) - this.committed())
            if (BigInt(listing.price.amount) > cap) {
              throw new NoSellerError(step.id, `${key} asks ${listing.price.amount}, more than the ${cap} left`)
            }
          }
          const attempt: AttemptRecord = {
            correlationId: crypto.randomUUID(),
            listing: key,
            seller: listing.seller,
            resource: listing.resource,
            multiaddrs: listing.multiaddrs,
            payTo: listing.price.payTo,
            maxAmount: min(BigInt(listing.price.amount), cap).toString(),
            body,
            state: 'calling',
            startedAt: Date.now()
          }
          rec.attempts.push(attempt)
          // Journaled here before the x402 client journals (and signs) it: a restart finds the id and re-asks.
          await this.save()
          const outcome = await runAttempt(ctx, attempt)
          if (await this.settleOutcome(step, rec, attempt, outcome, failures)) return
          if (outcome.kind !== 'retry') break
        }
      }
      throw new StepFailedError(step.id, failures)
    } catch (err) {
      if (rec.status === 'running' && !this.halted) {
        rec.status = signal.aborted ? 'cancelled' : 'failed'
        rec.error = `${(err as Error).name}: ${(err as Error).message}`.slice(0, 2000)
      }
    } finally {
      if (rec.status !== 'running') rec.endedAt ??= Date.now()
      await this.save()
    }
  }

  /** Applies an attempt's outcome to the step; `true` when the step is over (completed, unresolved, cancelled, fatal). */
  private async settleOutcome(
    step: PlannedStep,
    rec: StepRecord,
    attempt: AttemptRecord,
    outcome: AttemptOutcome,
    failures: string[]
  ): Promise<boolean> {
    switch (outcome.kind) {
      case 'done':
        this.complete(step, rec, attempt, outcome.call)
        await this.save()
        return true
      case 'unresolved':
        rec.status = 'unresolved'
        rec.error = `paid call ${attempt.correlationId} has no outcome yet (re-asked on resume): ${attempt.error}`
        return true
      case 'cancelled':
        // Halted for a restart before anything was signed: the attempt is forgotten and made again on resume.
        if (this.halted && attempt.state === 'not-paid') rec.attempts.splice(rec.attempts.indexOf(attempt), 1)
        rec.status = this.halted ? 'running' : 'cancelled'
        return true
      case 'fatal':
        rec.status = 'failed'
        rec.error = `${attempt.listing}: ${attempt.error}`
        return true
      default:
        if (attempt.state === 'refunded' || attempt.state === 'charged')
          this.appendReceipt(step.id, attempt, attempt.state)
        failures.push(`${attempt.listing}: ${attempt.error}`)
        this.deps.log('workflow %s step %s: %s failed (%s)', this.record.id, step.id, attempt.listing, attempt.error)
        await this.save()
        return false
    }
  }

  private complete(step: PlannedStep, rec: StepRecord, attempt: AttemptRecord, call: CallResult): void {
    const text = decoder.decode(call.body)
    let output: unknown = text
    try {
      output = JSON.parse(text)
    } catch {}
    rec.output = output
    rec.resultHash = `0x${createHash('sha256').update(call.body).digest('hex')}`
    rec.status = 'completed'
    rec.endedAt = Date.now()
    delete rec.error
    this.appendReceipt(step.id, attempt, 'result', rec.resultHash as `0x${string}`)
  }

  /** Chains a settled payment into the workflow receipt. */
  private appendReceipt(
    stepId: string,
    attempt: AttemptRecord,
    outcome: 'result' | 'refunded' | 'charged',
    resultHash?: `0x${string}`
  ): void {
    if (attempt.settlementTx == null) return
    const { record } = this
    const prev =
      record.receipt.at(-1)?.hash ??
      receiptGenesis({
        workflowId: record.id,
        definitionHash: record.definitionHash,
        network: record.network,
        asset: record.asset
      })
    record.receipt.push(
      chainEntry(
        {
          seq: record.receipt.length,
          stepId,
          correlationId: attempt.correlationId,
          listing: attempt.listing,
          seller: attempt.seller,
          resource: attempt.resource,
          payer: (attempt.payer ?? '0x') as Address,
          payTo: attempt.payTo as Address,
          price: attempt.amount ?? '0',
          settlementTx: attempt.settlementTx as Hash,
          outcome,
          ...(resultHash != null ? { resultHash } : {}),
          ...(outcome === 'refunded' && attempt.refund != null
            ? { refund: { transaction: attempt.refund.transaction as Hash, amount: attempt.refund.amount } }
            : {})
        },
        prev
      )
    )
  }
}
