import type { Logger } from '@libp2p/interface'
import type { PaymentRequirements, SettleResponse } from '@x402/core/types'
import { erc20Abi, getAddress, type Hex, isHash, type PublicClient, parseEventLogs } from 'viem'
import { type AuthorizationRef, readAuthorization, settlementFromReceipt } from '../settlement/authorization.ts'
import { waitForReceipt } from '../settlement/receipts.ts'
import { refundCalldata } from '../settlement/refund.ts'

/** What the buyer's own chain reader says about a payment it signed. */
export type PaymentCheck =
  /** The transfer of this authorization to the payee is on-chain; `settlement` names the transaction that made it. */
  | { state: 'paid'; settlement: SettleResponse }
  /** No transfer; `final` when none can happen any more (cancelled, nonce spent elsewhere, or past validBefore). */
  | { state: 'unpaid'; final: boolean }

/** Refund transactions remembered as used (oldest forgotten first). */
const MAX_REMEMBERED_REFUNDS = 10_000

/** Re-checks of an unconfirmed refund (5 s, doubling up to a minute: about an hour in all). */
const REFUND_RECHECKS = 64

/** After a re-check of a payment that has not moved (yet), how long until the next one at most. */
const RECHECK_MAX_MS = 60_000

/**
 * The buyer's side of settlement checking (spec §6): a seller's word is never taken for whether money moved. A paid
 * result counts as paid only when the buyer's own chain reader finds this authorization's transfer to the payee; a
 * seller's failure report releases the budget only when the chain shows nothing moved and nothing still can.
 */
export class PaymentVerifier {
  private readonly client: PublicClient
  private readonly timeoutMs: number
  private readonly log: Logger
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  /** Refund transactions already accepted, by the call they refunded: one transfer back counts for one call. */
  private readonly refunds = new Map<string, string>()

  constructor(client: PublicClient, timeoutMs: number, log: Logger) {
    this.client = client
    this.timeoutMs = timeoutMs
    this.log = log
  }

  /**
   * Whether `authorization` paid `requirements.payTo`, waiting up to the verify timeout for the `claimed` transaction
   * (the seller's report) to become visible. A claim that names another transaction, or none, is replaced by what the
   * chain shows. Throws when the chain could not be read.
   */
  async check(
    requirements: PaymentRequirements,
    authorization: AuthorizationRef,
    claimed: SettleResponse | undefined,
    signal?: AbortSignal
  ): Promise<PaymentCheck> {
    const hash = claimed?.transaction != null && isHash(claimed.transaction) ? (claimed.transaction as Hex) : undefined
    const fromReceipt = async (waitMs: number): Promise<SettleResponse | undefined> => {
      if (hash == null) return undefined
      const receipt = await waitForReceipt(this.client, [hash], waitMs, signal)
      return receipt != null ? settlementFromReceipt(receipt, requirements, authorization) : undefined
    }
    const read = () => readAuthorization(this.client, requirements, authorization, signal != null ? { signal } : {})
    const claimedNow = await fromReceipt(0)
    if (claimedNow != null) return { state: 'paid', settlement: claimedNow }
    let facts = await read()
    if (facts.state === 'used') return { state: 'paid', settlement: facts.settlement }
    if (hash != null && facts.state === 'unused' && !facts.expired) {
      // The seller may see a block this reader has not yet: give its transaction a moment, then look again.
      const later = await fromReceipt(this.timeoutMs)
      if (later != null) return { state: 'paid', settlement: later }
      facts = await read()
      if (facts.state === 'used') return { state: 'paid', settlement: facts.settlement }
    }
    return { state: 'unpaid', final: facts.state === 'consumed' || (facts.state === 'unused' && facts.expired) }
  }

  /**
   * Checks a seller's claim that it refunded a failed call (spec §6.1, §7.5). The refund counts only when the chain
   * shows `transaction` as this call's refund: sent to the asset with the calldata `transfer(payer, amount)` followed
   * by this authorization's nonce, confirmed, with its `Transfer(from, payer, amount)` where `from` is the payee or the
   * account that submitted the settlement, mined **after** the settlement — so no other transfer (the buyer's own
   * top-up, another call's refund) can be cited — and not accepted as the refund of another call (`usedBy`, e.g. the
   * journal, across restarts; and this verifier's memory). Waits up to the verify timeout for the refund to be
   * visible. `not-charged` when this authorization never paid (there is nothing to refund). Throws when the chain could
   * not be read.
   */
  async checkRefund(
    requirements: PaymentRequirements,
    authorization: AuthorizationRef,
    transaction: string,
    usedBy: (transaction: string) => Promise<string | undefined>,
    correlationId: string,
    signal?: AbortSignal
  ): Promise<'verified' | 'unconfirmed' | 'not-charged'> {
    if (!isHash(transaction)) return 'unconfirmed'
    const key = transaction.toLowerCase()
    const claimedBy = this.refunds.get(key) ?? (await usedBy(key))
    if (claimedBy != null && claimedBy !== correlationId) return 'unconfirmed'
    const payment = await this.check(requirements, authorization, undefined, signal)
    if (payment.state !== 'paid') return 'not-charged'
    const settlementHash = payment.settlement.transaction as Hex
    const [settled, settlementTx] = await Promise.all([
      this.client.getTransactionReceipt({ hash: settlementHash }),
      this.client.getTransaction({ hash: settlementHash })
    ])
    const receipt = await waitForReceipt(this.client, [transaction as Hex], this.timeoutMs, signal)
    if (receipt?.status !== 'success') return 'unconfirmed'
    const refundTx = await this.client.getTransaction({ hash: transaction as Hex })
    const reference = authorization.nonce
    const expected = refundCalldata({ to: authorization.from, amount: BigInt(requirements.amount), reference })
    if (refundTx.to == null || getAddress(refundTx.to) !== getAddress(requirements.asset)) return 'unconfirmed'
    if (refundTx.input.toLowerCase() !== expected.toLowerCase()) return 'unconfirmed'
    const after =
      receipt.blockNumber > settled.blockNumber ||
      (receipt.blockNumber === settled.blockNumber && receipt.transactionIndex > settled.transactionIndex)
    if (!after) return 'unconfirmed'
    const asset = getAddress(requirements.asset)
    const payer = getAddress(authorization.from)
    const senders = new Set([getAddress(requirements.payTo), getAddress(settlementTx.from)])
    const amount = BigInt(requirements.amount)
    const paid = parseEventLogs({ abi: erc20Abi, eventName: 'Transfer', logs: receipt.logs, strict: true }).some(
      (log) =>
        getAddress(log.address) === asset &&
        senders.has(getAddress(log.args.from)) &&
        getAddress(log.args.to) === payer &&
        log.args.value === amount
    )
    const taken = this.refunds.get(key)
    if (!paid || (taken != null && taken !== correlationId)) return 'unconfirmed'
    this.refunds.set(key, correlationId)
    if (this.refunds.size > MAX_REMEMBERED_REFUNDS) this.refunds.delete(this.refunds.keys().next().value as string)
    return 'verified'
  }

  /**
   * Re-checks an unconfirmed refund on a back-off (a refund can reach this reader after the verify timeout) until it is
   * verified — then `onVerified` — or {@link REFUND_RECHECKS} checks have passed.
   */
  recheckRefund(
    requirements: PaymentRequirements,
    authorization: AuthorizationRef,
    transaction: string,
    usedBy: (transaction: string) => Promise<string | undefined>,
    correlationId: string,
    onVerified: () => void
  ): void {
    const run = async (attempt: number): Promise<void> => {
      try {
        const result = await this.checkRefund(requirements, authorization, transaction, usedBy, correlationId)
        if (result === 'verified') {
          onVerified()
          return
        }
      } catch (err) {
        this.log('re-checking refund %s failed - %e', transaction, err)
      }
      if (attempt + 1 < REFUND_RECHECKS)
        this.later(Math.min(5_000 * 2 ** attempt, RECHECK_MAX_MS), () => run(attempt + 1))
    }
    this.later(5_000, () => run(0))
  }

  private later(delay: number, task: () => Promise<void>): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      void task()
    }, delay)
    timer.unref?.()
    this.timers.add(timer)
  }

  /**
   * Calls `release` once the chain proves `authorization` can no longer move money (re-checking after its
   * `validBefore`), and never if it paid — then `onPaid` gets the settlement. Used when a payment's fate is open: the budget stays
   * reserved meanwhile.
   */
  releaseWhenFinal(
    requirements: PaymentRequirements,
    authorization: AuthorizationRef,
    release: () => void,
    onPaid?: (settlement: SettleResponse) => void
  ): void {
    const check = async (attempt: number): Promise<void> => {
      try {
        const result = await this.check(requirements, authorization, undefined)
        if (result.state === 'paid') {
          onPaid?.(result.settlement)
          return
        }
        if (result.final) {
          release()
          return
        }
      } catch (err) {
        this.log('re-checking payment %s failed - %e', authorization.nonce, err)
      }
      if (attempt < 100) schedule(attempt + 1)
    }
    const schedule = (attempt: number): void => {
      // Early looks catch a seller that settles what it refused; the proof that nothing can move comes at validBefore.
      const untilExpiry = Number(authorization.validBefore) * 1000 + 2_000 - Date.now()
      const backoff = 2_000 * 2 ** attempt
      const delay = Math.max(
        1_000,
        Math.min(untilExpiry > 0 ? Math.min(untilExpiry, backoff) : backoff, RECHECK_MAX_MS)
      )
      const timer = setTimeout(() => {
        this.timers.delete(timer)
        void check(attempt)
      }, delay)
      timer.unref?.()
      this.timers.add(timer)
    }
    schedule(0)
  }

  /** Stops pending re-checks. */
  stop(): void {
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
  }
}
