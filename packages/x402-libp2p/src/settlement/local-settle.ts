import type { PaymentRequirements, SettleResponse } from '@x402/core/types'
import { type Address, getAddress, type Hex, type TransactionReceipt } from 'viem'
import { readAuthorization, settlementFromReceipt } from './authorization.ts'
import type { BatchRef, SettlementBatcher } from './batch.ts'
import type { Authorization } from './eip3009.ts'
import { type LiveState, type LiveTransactionContext, tendLiveTransaction } from './live-transaction.ts'
import type { PayerLedger } from './payer-ledger.ts'
import { receiptWatcherFor } from './receipt-watcher.ts'
import {
  latestTransaction,
  type SettlementAttempt,
  type SettlementOutcome,
  type SettlementTransaction,
  type SettleOptions
} from './settler.ts'
import type { SettlementCall } from './simulation.ts'

/** Within a confirmation wait, the live transaction is re-checked (dropped? stuck? gap?) this often. */
const WAIT_SLICE_MS = 2_000

/** Longest wait for one of the payer's in-flight slots within one run. */
const SLOT_WAIT_MS = 1_000

/** The batcher's answer that a member must be settled in a transaction of its own. */
const ALONE = Symbol('alone')

/** What a {@link LocalSettlement} needs from its settler. */
export interface LocalSettlementContext extends LiveTransactionContext {
  ledger: PayerLedger
  lookbackBlocks?: bigint
  /**
   * The pre-broadcast check: the transaction to sign (exact fields, simulated), or why it must not be sent now.
   * Throws `SettlerUnavailableError` when the chain could not be asked.
   */
  prepare(
    a: Authorization,
    signature: Hex,
    asset: Address,
    simulateAgain: boolean
  ): Promise<SettlementCall | { reason: string }>
  /** Batches settlements into Multicall3 transactions, when enabled. */
  batcher?: SettlementBatcher
  /**
   * A batch member's own call — the verification's when fresh (`fresh`), otherwise built anew (not simulated: the batch
   * is) — or why it must not be sent now; `hasCode` for a payer with code, which is settled alone (see {@link prepare}).
   */
  member(
    a: Authorization,
    signature: Hex,
    asset: Address,
    simulateAgain: boolean
  ): Promise<{ call: SettlementCall; fresh: boolean; hasCode: false } | { hasCode: true } | { reason: string }>
  /**
   * Why the authorization's own transfer, simulated alone as it would be signed now (the payer's code read afresh),
   * would fail — an x402 reason — or `undefined` when it would succeed. Throws `SettlerUnavailableError` when the chain
   * could not be asked.
   */
  alone(a: Authorization, signature: Hex, asset: Address): Promise<string | undefined>
}

/**
 * Why a transfer fails that its payer caused (spec §7.3 step 5, §7.7): its balance moved away, its wallet refused the
 * signature, or its code spent more gas than the cap.
 */
const PAYERS_DOING: ReadonlySet<string> = new Set([
  'invalid_exact_evm_insufficient_balance',
  'invalid_exact_evm_signature',
  'settlement_gas_over_cap'
])

/** Whose doing it was that a transaction of ours was mined without settling the authorization. */
type Judgement = { by: 'payer' } | { by: 'batch' } | { by: 'unknown'; reason: string }

/**
 * One run of the local settlement state machine for one authorization (spec §7.1–7.3): from whatever was persisted,
 * find out whether the transfer happened (our receipts, then the token's `authorizationState` and logs — a transfer
 * by anyone counts), prove it never can (cancelled, or unused past `validBefore` by chain time), or move it forward
 * (re-broadcast a dropped transaction, replace a stuck one, repair a nonce gap, sign a fresh one after a displaced
 * nonce), waiting for confirmation up to the timeout.
 */
export class LocalSettlement {
  private readonly ctx: LocalSettlementContext
  private readonly requirements: PaymentRequirements
  private readonly a: Authorization
  private readonly signature: Hex
  private readonly id: string
  private readonly options: SettleOptions
  private readonly payer: Address
  private attempt: SettlementAttempt

  constructor(
    ctx: LocalSettlementContext,
    requirements: PaymentRequirements,
    a: Authorization,
    signature: Hex,
    id: string,
    attempt: SettlementAttempt,
    options: SettleOptions
  ) {
    this.ctx = ctx
    this.requirements = requirements
    this.a = a
    this.signature = signature
    this.id = id
    this.attempt = { ...attempt, transactions: [...attempt.transactions] }
    this.options = options
    this.payer = getAddress(a.from)
  }

  /** The batch this run tends (and hears replacements of), if any. */
  private joined: string | undefined

  async run(): Promise<SettlementOutcome> {
    try {
      return await this.advance()
    } finally {
      if (this.joined != null) this.ctx.batcher?.leave(this.joined, this.id)
    }
  }

  private async advance(): Promise<SettlementOutcome> {
    const deadline = Date.now() + this.options.confirmationTimeoutMs
    this.ctx.ledger.open(this.id, this.payer, BigInt(this.a.value), Number(this.a.validBefore) * 1000)
    for (const tx of this.attempt.transactions) this.ctx.sender.track(tx)
    // A transaction already signed (found after a restart, or from an earlier run) is in flight: it holds a slot.
    if (this.attempt.transactions.length > 0) this.ctx.ledger.hold(this.payer, this.id)
    let receipt: TransactionReceipt | undefined
    let lookedAgain = false
    for (let round = 0; ; round++) {
      this.options.signal?.throwIfAborted()
      receipt ??= round === 0 || this.attempt.transactions.length > 0 ? await this.ownReceipt() : undefined
      if (receipt != null) {
        const settled = settlementFromReceipt(receipt, this.requirements, this.a)
        if (settled != null) return this.settled(settled)
      }
      // A transaction of ours mined without paying: it is no longer in flight.
      const mined = receipt
      receipt = undefined
      if (mined != null) this.ctx.ledger.release(this.payer, this.id)
      let unknown: string | undefined
      if (this.attempt.transactions.length > 0 || this.attempt.reason != null || mined != null) {
        const facts = await readAuthorization(this.ctx.reader, this.requirements, this.a, {
          ...(this.ctx.lookbackBlocks != null ? { lookbackBlocks: this.ctx.lookbackBlocks } : {}),
          ...(this.options.signal != null ? { signal: this.options.signal } : {})
        })
        if (facts.state === 'used') return this.settled(facts.settlement)
        if (facts.state === 'consumed') {
          // The payer cancelled the authorization or spent its nonce first: its doing.
          if (mined != null) this.blame()
          return facts.by === 'cancel'
            ? this.void('authorization_canceled', 'the payer cancelled the authorization')
            : this.void('authorization_nonce_spent', 'the payer spent the nonce on another authorization')
        }
        if (mined != null && this.attempt.reason !== 'transaction_reverted') {
          const judged = await this.judge(mined)
          // The payer's doing (balance moved away, a wallet that changed its mind or burns the gas): refuse the payer
          // for a while; never broadcast this one again.
          if (judged.by === 'payer') this.blame()
          // Another member sank the batch: this one is sent again, alone.
          else if (judged.by === 'batch') await this.setAside(mined)
          else unknown = judged.reason
        }
        if (facts.expired) {
          return this.void('authorization_expired', `unused at block ${facts.blockNumber}, past validBefore`)
        }
        if (unknown != null) return this.pending(unknown)
        if (mined != null && this.attempt.reason === 'transaction_reverted') return this.pending('transaction_reverted')
      }
      if (this.attempt.reason === 'transaction_reverted') return this.pending('transaction_reverted')

      const live = this.liveTransaction()
      const state = live == null ? 'displaced' : await this.check(live, round)
      if (state === 'no-gas-funds' || state === 'displaced') this.ctx.ledger.release(this.payer, this.id)
      if (state === 'no-gas-funds') return this.pending('seller_out_of_gas')
      if (state === 'displaced') {
        const why = await this.signFresh(deadline)
        if (why === 'invalid_exact_evm_nonce_already_used' && !lookedAgain) {
          // Someone used the authorization (a front-runner, the buyer, a broadcast we lost track of): the chain says who.
          lookedAgain = true
          this.attempt = { ...this.attempt, reason: why }
          continue
        }
        if (why != null) return this.pending(why)
      }

      const remaining = deadline - Date.now()
      if (remaining <= 0) return this.pending()
      receipt = await this.ctx.sender.waitForReceipt(
        this.hashes(),
        Math.min(remaining, this.sliceMs()),
        this.options.signal
      )
      if (receipt == null && Date.now() >= deadline) return this.pending()
    }
  }

  /** Our transactions that may still settle this authorization, newest first (batches set aside are not). */
  /**
   * How long one wait lasts before the live transaction is looked at again: {@link WAIT_SLICE_MS}, or — on a chain with
   * block times — until a second after the next block is due, if later: a slice ending just before the block that
   * holds the transaction made every member of a batch ask for its receipt (and the chain for its authorization).
   */
  private sliceMs(now = Date.now()): number {
    const due = receiptWatcherFor(this.ctx.reader).nextBlockDue(now)
    return due == null ? WAIT_SLICE_MS : Math.max(WAIT_SLICE_MS, due.at - now + 1_000)
  }

  private hashes(): Hex[] {
    const aside = new Set(this.attempt.failedBatches ?? [])
    return this.attempt.transactions
      .map((t) => t.hash)
      .filter((h) => !aside.has(h))
      .reverse()
  }

  /** The newest transaction that may still settle this authorization (none once its batch was set aside). */
  private liveTransaction(): SettlementTransaction | undefined {
    const live = latestTransaction(this.attempt)
    return live == null || this.attempt.failedBatches?.includes(live.hash) === true ? undefined : live
  }

  /**
   * Whose doing it is that `mined`, a transaction of ours, did not settle the authorization (spec §7.3 step 5, §7.6).
   * A batch (sent to Multicall3, not to the token) fails for every member when one member's code spends the gas, so a
   * member is blamed only when its own transfer fails simulated alone — otherwise the batch is set aside and it is
   * sent again, alone. Our own transaction mined at or past `validBefore` failed because it came too late: not the
   * payer's doing either.
   */
  private async judge(mined: TransactionReceipt): Promise<Judgement> {
    const asset = getAddress(this.requirements.asset)
    if (mined.to != null && getAddress(mined.to) !== asset) {
      const reason = await this.ctx.alone(this.a, this.signature, asset)
      if (reason == null) return { by: 'batch' }
      return PAYERS_DOING.has(reason) ? { by: 'payer' } : { by: 'unknown', reason }
    }
    const block = await this.ctx.reader.getBlock({ blockNumber: mined.blockNumber })
    return block.timestamp < BigInt(this.a.validBefore)
      ? { by: 'payer' }
      : { by: 'unknown', reason: 'authorization_expired' }
  }

  /** The payer made its settlement fail: it is throttled (once per failure) and this one is never sent again. */
  private blame(): void {
    if (this.attempt.reason !== 'transaction_reverted') this.ctx.ledger.throttle(this.payer)
    this.attempt = { ...this.attempt, reason: 'transaction_reverted' }
  }

  /**
   * The batch transaction `mined` (and any replacement at its nonce) failed for another member: it is not looked at
   * again, and the authorization is settled alone from now on. Persisted before anything else is sent.
   */
  private async setAside(mined: TransactionReceipt): Promise<void> {
    const nonce = this.attempt.transactions.find((t) => t.hash === mined.transactionHash)?.nonce
    const ofBatch = (t: SettlementTransaction) =>
      t.hash === mined.transactionHash || (nonce != null && t.nonce === nonce)
    const aside = [
      ...(this.attempt.failedBatches ?? []),
      ...this.attempt.transactions.filter(ofBatch).map((t) => t.hash)
    ]
    const { batch: _, reason: __, ...rest } = this.attempt
    if (this.joined != null) this.ctx.batcher?.leave(this.joined, this.id)
    this.joined = undefined
    // A mined transaction is never broadcast again: its raw bytes are not kept.
    const transactions = rest.transactions.map((t) => {
      if (!ofBatch(t)) return t
      const { raw: ___, ...kept } = t
      return kept
    })
    await this.persist({ ...rest, transactions, failedBatches: [...new Set(aside)] })
  }

  /** The receipt of any of our transactions (newest first); failed reads count as "none yet". */
  private async ownReceipt(): Promise<TransactionReceipt | undefined> {
    for (const hash of this.hashes()) {
      try {
        const r = await this.ctx.sender.receipt(hash)
        if (r != null) return r
      } catch {
        // unknown: the authorization's state decides
      }
    }
    return undefined
  }

  private check(live: SettlementTransaction, round: number): Promise<LiveState> {
    const batch = this.attempt.batch
    const batcher = this.ctx.batcher
    if (batch == null || batcher == null) {
      return tendLiveTransaction(this.ctx, this.attempt, live, round === 0, (next) => this.persist(next))
    }
    // A batch's transaction is tended once for all its members running here; a replacement (same calldata, higher
    // fees) is persisted to each of them before it is broadcast. A member not running here finds it from the chain.
    if (this.joined !== batch.id) {
      if (this.joined != null) batcher.leave(this.joined, this.id)
      batcher.join(batch.id, this.id, (tx) => this.append(tx))
      this.joined = batch.id
    }
    return batcher.tend(batch.id, () =>
      tendLiveTransaction(this.ctx, this.attempt, live, round === 0, async (next) => {
        const tx = latestTransaction(next)
        if (tx != null) await batcher.persistAll(batch.id, tx)
      })
    )
  }

  /** Adds a transaction of this settlement's batch (a replacement signed by another member's run) to its record. */
  private async append(tx: SettlementTransaction): Promise<void> {
    if (this.attempt.transactions.some((t) => t.hash === tx.hash)) return
    await this.persist({ ...this.attempt, transactions: [...this.attempt.transactions, tx] })
  }

  /**
   * Sends the settlement in the next batch; `undefined` once broadcast, {@link ALONE} when it must go in a transaction of
   * its own (its payer has code now), otherwise why not.
   */
  private async sendInBatch(
    batcher: SettlementBatcher,
    call: SettlementCall,
    fresh: boolean
  ): Promise<string | typeof ALONE | undefined> {
    const outcome = await batcher.submit({
      id: this.id,
      payer: this.payer,
      call,
      fresh,
      ...(this.options.signal != null ? { signal: this.options.signal } : {}),
      // As for a single transaction, a new one in flight replaces the attempt's reason; a batch is named with it.
      persist: (tx, batch?: BatchRef) =>
        this.persist({ transactions: [...this.attempt.transactions, tx], ...(batch != null ? { batch } : {}) })
    })
    if ('reason' in outcome) return outcome.reason
    if ('alone' in outcome) return ALONE
    if (outcome.result === 'no-gas-funds') return 'seller_out_of_gas'
    if (outcome.result === 'fee-too-low') return 'fee_below_base_fee'
    return undefined
  }

  /** Signs and broadcasts a new transaction at a fresh nonce; returns why not when it must not be sent now. */
  private async signFresh(deadline: number): Promise<string | undefined> {
    if (this.ctx.ledger.throttledUntil(this.payer) != null) return 'payer_throttled'
    const asset = getAddress(this.requirements.asset)
    // Once a batch carrying it failed for another member, an authorization is settled alone (a payer that sank one
    // batch and then removed its code is not given another batch to sink).
    const batcher =
      this.ctx.batcher != null && this.attempt.failedBatches == null && (await this.ctx.batcher.available())
        ? this.ctx.batcher
        : undefined
    if (batcher != null) {
      // A batch member takes no in-flight slot: failing inside the batch (allowFailure) it reverts no transaction of
      // the seller's, it only spends its own share of the batch's gas — bounded by the payer's pending calls, and its
      // payer is throttled like any other whose transfer failed.
      const member = await this.ctx.member(this.a, this.signature, asset, false)
      if ('reason' in member) return member.reason
      if (!member.hasCode) {
        const sent = await this.sendInBatch(batcher, member.call, member.fresh)
        if (sent !== ALONE) return sent
      }
    }
    // One more of this payer's settlements in flight, if its allowance has room (spec §10.2). Waiting is short: a
    // resolver slot is not held for long, and the call stays pending (`payer_busy`) until its turn.
    const asked = Date.now()
    const until = Math.min(deadline, asked + SLOT_WAIT_MS)
    if (!(await this.ctx.ledger.acquire(this.payer, this.id, until, this.options.signal))) return 'payer_busy'
    // Waiting for a slot means others of this payer settled meanwhile: the verification's simulation is stale.
    const waited = Date.now() - asked > 2
    let inFlight = false
    try {
      // (A contract-wallet payer is settled alone, as without batching.)
      const call = await this.ctx.prepare(this.a, this.signature, asset, waited)
      if ('reason' in call) return call.reason
      const { result } = await this.ctx.sender.submit(
        { to: call.to, data: call.data, gas: call.gas, fees: call.fees },
        (tx) => this.persist({ transactions: [...this.attempt.transactions, tx] })
      )
      if (result === 'no-gas-funds') return 'seller_out_of_gas'
      if (result === 'fee-too-low') return 'fee_below_base_fee'
      inFlight = true
      return undefined
    } finally {
      // Nothing reached the pool: the slot goes back at once.
      if (!inFlight) this.ctx.ledger.release(this.payer, this.id)
    }
  }

  private async persist(attempt: SettlementAttempt): Promise<void> {
    // Batches set aside stay set aside, whatever writes the attempt next (a new transaction, a replacement).
    const aside = attempt.failedBatches ?? this.attempt.failedBatches
    this.attempt = aside != null ? { ...attempt, failedBatches: aside } : attempt
    await this.options.persist(this.attempt)
  }

  private finish(settled = false): void {
    this.ctx.ledger.close(this.id, settled)
    this.ctx.ledger.release(this.payer, this.id)
    this.ctx.sender.untrack(this.attempt.transactions)
  }

  private settled(settlement: SettleResponse): SettlementOutcome {
    this.finish(true)
    const { reason: _, ...attempt } = this.attempt
    return { status: 'settled', settlement, attempt }
  }

  private void(reason: string, message: string): SettlementOutcome {
    this.finish()
    return { status: 'void', reason, message, attempt: this.attempt }
  }

  private pending(reason?: string): SettlementOutcome {
    if (reason != null) this.attempt = { ...this.attempt, reason }
    return { status: 'pending', attempt: this.attempt }
  }
}
