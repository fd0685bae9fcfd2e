import type { PaymentRequirements, SettleResponse } from '@x402/core/types'
import { type Address, getAddress, type Hex, type TransactionReceipt } from 'viem'
import { readAuthorization, settlementFromReceipt } from './authorization.ts'
import type { Authorization } from './eip3009.ts'
import { type LiveState, type LiveTransactionContext, tendLiveTransaction } from './live-transaction.ts'
import type { PayerLedger } from './payer-ledger.ts'
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
}

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

  async run(): Promise<SettlementOutcome> {
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
      const reverted = receipt != null
      receipt = undefined
      // Our transaction is mined without paying: it is no longer in flight.
      if (reverted) this.ctx.ledger.release(this.payer, this.id)
      if (this.attempt.transactions.length > 0 || this.attempt.reason != null || reverted) {
        const facts = await readAuthorization(this.ctx.reader, this.requirements, this.a, {
          ...(this.ctx.lookbackBlocks != null ? { lookbackBlocks: this.ctx.lookbackBlocks } : {}),
          ...(this.options.signal != null ? { signal: this.options.signal } : {})
        })
        if (facts.state === 'used') return this.settled(facts.settlement)
        // Our transfer reverted and nobody's transfer paid the payee: the payer's doing (balance moved away, a wallet
        // that changed its mind, its nonce spent first). Refuse the payer for a while; never broadcast this one again.
        if (reverted && this.attempt.reason !== 'transaction_reverted') this.ctx.ledger.throttle(this.payer)
        if (facts.state === 'consumed') {
          return facts.by === 'cancel'
            ? this.void('authorization_canceled', 'the payer cancelled the authorization')
            : this.void('authorization_nonce_spent', 'the payer spent the nonce on another authorization')
        }
        if (facts.expired) {
          return this.void('authorization_expired', `unused at block ${facts.blockNumber}, past validBefore`)
        }
        if (reverted) return this.pending('transaction_reverted')
      }
      if (this.attempt.reason === 'transaction_reverted') return this.pending('transaction_reverted')

      const live = latestTransaction(this.attempt)
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
        Math.min(remaining, WAIT_SLICE_MS),
        this.options.signal
      )
      if (receipt == null && Date.now() >= deadline) return this.pending()
    }
  }

  private hashes(): Hex[] {
    return this.attempt.transactions.map((t) => t.hash).reverse()
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
    return tendLiveTransaction(this.ctx, this.attempt, live, round === 0, (next) => this.persist(next))
  }

  /** Signs and broadcasts a new transaction at a fresh nonce; returns why not when it must not be sent now. */
  private async signFresh(deadline: number): Promise<string | undefined> {
    if (this.ctx.ledger.throttledUntil(this.payer) != null) return 'payer_throttled'
    // One more of this payer's settlements in flight, if its allowance has room (spec §10.2). Waiting is short: a
    // resolver slot is not held for long, and the call stays pending (`payer_busy`) until its turn.
    const asked = Date.now()
    const until = Math.min(deadline, asked + SLOT_WAIT_MS)
    if (!(await this.ctx.ledger.acquire(this.payer, this.id, until, this.options.signal))) return 'payer_busy'
    // Waiting for a slot means others of this payer settled meanwhile: the verification's simulation is stale.
    const waited = Date.now() - asked > 2
    let inFlight = false
    try {
      const call = await this.ctx.prepare(this.a, this.signature, getAddress(this.requirements.asset), waited)
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
    this.attempt = attempt
    await this.options.persist(attempt)
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
