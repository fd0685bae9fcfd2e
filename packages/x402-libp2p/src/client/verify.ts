import type { Logger } from '@libp2p/interface'
import type { PaymentRequirements, SettleResponse } from '@x402/core/types'
import { type Address, erc20Abi, getAddress, type Hex, isHash, type PublicClient, parseEventLogs } from 'viem'
import { type AuthorizationRef, readAuthorization, settlementFromReceipt } from '../settlement/authorization.ts'
import { waitForReceipt } from '../settlement/receipts.ts'

/** What the buyer's own chain reader says about a payment it signed. */
export type PaymentCheck =
  /** The transfer of this authorization to the payee is on-chain; `settlement` names the transaction that made it. */
  | { state: 'paid'; settlement: SettleResponse }
  /** No transfer; `final` when none can happen any more (cancelled, nonce spent elsewhere, or past validBefore). */
  | { state: 'unpaid'; final: boolean }

/** Refund transactions remembered as used (oldest forgotten first). */
const MAX_REMEMBERED_REFUNDS = 10_000

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
  /** Refund transactions already accepted, so one transfer back cannot be cited for two calls. */
  private readonly refunds = new Set<string>()

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
   * Whether `transaction` is a confirmed transfer of `amount` of `asset` to `payer` — a seller's refund (spec §7.5),
   * waiting up to the verify timeout for it to be visible. Each refund transaction counts for one call only: one
   * already accepted for another call is refused. Throws when the chain could not be read.
   */
  async checkRefund(
    requirements: PaymentRequirements,
    payer: Address,
    transaction: string,
    signal?: AbortSignal
  ): Promise<boolean> {
    if (!isHash(transaction)) return false
    const key = transaction.toLowerCase()
    if (this.refunds.has(key)) return false
    const receipt = await waitForReceipt(this.client, [transaction as Hex], this.timeoutMs, signal)
    if (receipt?.status !== 'success') return false
    const asset = getAddress(requirements.asset)
    const amount = BigInt(requirements.amount)
    const paid = parseEventLogs({ abi: erc20Abi, eventName: 'Transfer', logs: receipt.logs, strict: true }).some(
      (log) =>
        getAddress(log.address) === asset && getAddress(log.args.to) === getAddress(payer) && log.args.value === amount
    )
    if (!paid || this.refunds.has(key)) return false
    this.refunds.add(key)
    if (this.refunds.size > MAX_REMEMBERED_REFUNDS) this.refunds.delete(this.refunds.values().next().value as string)
    return true
  }

  /**
   * Calls `release` once the chain proves `authorization` can no longer move money (re-checking after its
   * `validBefore`), and never if it paid. Used when a payment's fate is open: the budget stays reserved meanwhile.
   */
  releaseWhenFinal(requirements: PaymentRequirements, authorization: AuthorizationRef, release: () => void): void {
    const check = async (attempt: number): Promise<void> => {
      try {
        const result = await this.check(requirements, authorization, undefined)
        if (result.state === 'paid') return
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
      const untilExpiry = Number(authorization.validBefore) * 1000 + 2_000 - Date.now()
      const delay = Math.max(1_000, Math.min(untilExpiry > 0 ? untilExpiry : 1_000 * 2 ** attempt, RECHECK_MAX_MS))
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
