import type { AbortOptions } from '@libp2p/interface'
import type { PaymentPayload, PaymentRequirements, SettleResponse, VerifyResponse } from '@x402/core/types'
import type { Address, Hex } from 'viem'
import type { Refunder } from './refund.ts'

/** One transaction signed for a settlement, persisted in the call record **before** it is broadcast (spec §7.2). */
export interface SettlementTransaction {
  /** keccak256 of `raw`: the transaction hash. */
  hash: Hex
  /** The signed transaction (seller-wallet settlement), so it can be broadcast again after a drop or a restart. */
  raw?: Hex
  /** Account nonce of the settling wallet. */
  nonce?: number
  /** EIP-1559 fees it was signed with, in wei (decimal strings, for JSON storage). */
  maxFeePerGas?: string
  maxPriorityFeePerGas?: string
  /** Gas limit, at most the settlement gas cap. */
  gas?: string
  /** Unix ms when it was signed (or, for a facilitator, first reported). */
  at: number
}

/**
 * Everything known about a settlement in flight, persisted with the call record so a restarted node resumes it
 * (spec §7.2). A fee bump or a re-sign after a displaced nonce appends a transaction; any of them may be the one mined.
 */
export interface SettlementAttempt {
  /** Transactions signed (or reported by a facilitator) for this settlement, oldest first. */
  transactions: SettlementTransaction[]
  /** Unix ms when the payload was last handed to a facilitator's `/settle` (its answer may have been lost). */
  submittedAt?: number
  /** Why nothing is in flight right now (e.g. `payer_throttled`, `insufficient_balance`), for SETTLEMENT_PENDING. */
  reason?: string
  /**
   * Set when the transactions are a batch (spec §7.6): one `aggregate3` transaction settling several authorizations.
   * `id` names the batch, `members` are the authorization ids (`payer/nonce`, lower case) it carries. Written to every
   * member's record before the batch is broadcast, so a restarted node finds the batch from any of them.
   */
  batch?: { id: string; members: string[] }
  /**
   * Batch transactions of ours that were mined without settling this authorization although its transfer succeeds when
   * simulated alone: another member sank the batch (spec §7.6). Not this payer's doing — it is not blamed, these are no
   * longer looked at, and the authorization is settled alone from then on.
   */
  failedBatches?: Hex[]
  /**
   * A refund's first block (decimal string), read before its first transaction was signed: where the search for the
   * transaction holding a refund's nonce starts.
   */
  fromBlock?: string
}

/**
 * Where a settlement stands (spec §7.1). `settled`: the token's `Transfer(from → payTo, amount)` for this
 * authorization is confirmed on-chain — whoever submitted it. `void`: it is proven that no money moved and none can
 * (the authorization was cancelled, or is unused at a block whose timestamp is past `validBefore`). `pending`:
 * anything else; the money may still move, so the call is not failed.
 */
export type SettlementOutcome =
  | { status: 'settled'; settlement: SettleResponse; attempt: SettlementAttempt }
  | { status: 'pending'; attempt: SettlementAttempt }
  | { status: 'void'; reason: string; message: string; attempt: SettlementAttempt }

/** Options for {@link Settler.settle}. */
export interface SettleOptions extends AbortOptions {
  /**
   * Persists a new state of the attempt. The settler calls it — and waits for it — **before** broadcasting any
   * transaction the state names, so a crash never leaves a broadcast the node does not know about.
   */
  persist(attempt: SettlementAttempt): Promise<void>
  /** How long to wait for the transfer to confirm before answering `pending` (ms). */
  confirmationTimeoutMs: number
}

/**
 * Verifies and settles x402 `exact` (EIP-3009) payments. Two implementations ship: {@link localSettler} (the seller's
 * own wallet submits `transferWithAuthorization`) and {@link facilitatorSettler} (an x402 facilitator's HTTP API).
 */
export interface Settler {
  /** Short name for logs, e.g. `local` or `facilitator`. */
  readonly name: string
  /** Default payee when resources don't name one. */
  readonly payTo?: Address
  /**
   * Pays refunds when a handler fails after its payment settled (spec §7.5). Without one, paid resources must settle
   * after their handler succeeds (`settlement: 'after'`).
   */
  readonly refunder?: Refunder
  /**
   * Full x402 verification (spec §5 step 8e): signature, recipient, amount, time window, balance and nonce state
   * on-chain — a verdict. Throws {@link SettlerUnavailableError} when the chain or facilitator could not be asked: that
   * says nothing about the payment, and the server answers the retryable `SERVICE_UNAVAILABLE`.
   */
  verify(payload: PaymentPayload, requirements: PaymentRequirements, options?: AbortOptions): Promise<VerifyResponse>
  /**
   * Drives a settlement as far as it can within `options.confirmationTimeoutMs`: starts it when `attempt` is empty,
   * otherwise resumes it from what was persisted (after a timeout, a lost answer, a restart), resolving every
   * uncertain outcome from the chain. Never reports `void` unless nothing moved and nothing can. Throws only when the
   * outcome could not be determined at all (e.g. the chain is unreachable): the call then stays pending.
   */
  settle(
    payload: PaymentPayload,
    requirements: PaymentRequirements,
    attempt: SettlementAttempt,
    options: SettleOptions
  ): Promise<SettlementOutcome>
  /**
   * The check of a `deferred` call (spec §7.7), without a chain round trip where possible: the x402 checks of
   * {@link verify} on the payload, the EIP-712 signature recovered locally, and the payer's balance (a recent read) covering
   * `owed` — what it already owes in deferred calls — plus this amount. Throws {@link SettlerUnavailableError} when the
   * chain could not be asked. Settlers without it cannot serve deferred resources.
   */
  verifyDeferred?(
    payload: PaymentPayload,
    requirements: PaymentRequirements,
    owed: bigint,
    options?: AbortOptions
  ): Promise<VerifyResponse>
  /** A verified payment will not be settled (its reservation failed): forget any per-payer accounting for it. */
  release?(payload: PaymentPayload): void
}

/** The chain or facilitator a settler relies on could not be asked; nothing is known about the payment. */
export class SettlerUnavailableError extends Error {
  static override name = 'SettlerUnavailableError'

  constructor(message = 'settlement service unavailable', options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SettlerUnavailableError'
  }
}

/** An empty attempt: nothing signed or submitted yet. */
export function emptyAttempt(): SettlementAttempt {
  return { transactions: [] }
}

/** The most recent transaction of an attempt, if any. */
export function latestTransaction(attempt: SettlementAttempt): SettlementTransaction | undefined {
  return attempt.transactions[attempt.transactions.length - 1]
}
