import type { AbortOptions } from '@libp2p/interface'
import { HTTPFacilitatorClient } from '@x402/core/http'
import type { PaymentPayload, PaymentRequirements, SettleResponse, VerifyResponse } from '@x402/core/types'
import { SettleError, VerifyError } from '@x402/core/types'
import { type Address, type Hex, isHash, type PublicClient } from 'viem'
import { DEFAULT_FACILITATOR_RESUBMIT_MS } from '../constants.ts'
import { sleep } from '../sleep.ts'
import { readAuthorization, settlementFromReceipt } from './authorization.ts'
import type { Authorization } from './eip3009.ts'
import { getReceipt, waitForReceipt } from './receipts.ts'
import type { Refunder } from './refund.ts'
import {
  type SettlementAttempt,
  type SettlementOutcome,
  type SettleOptions,
  type Settler,
  SettlerUnavailableError
} from './settler.ts'

/** Options for {@link facilitatorSettler}. */
export interface FacilitatorSettlerInit {
  /** Base URL of an x402 facilitator (`/verify`, `/settle`, `/supported`). */
  url: string
  /** The seller's payee, used when resources don't name one. */
  payTo?: Address
  /** Headers per call, e.g. an API key (`{ verify, settle, supported }` maps as in `@x402/core`). */
  createAuthHeaders?: () => Promise<{
    verify: Record<string, string>
    settle: Record<string, string>
    supported: Record<string, string>
  }>
  /**
   * Reads the chain the facilitator settles on. Required: a lost `/settle` answer, a `settlement_pending`, a restart
   * or a facilitator's failure report is resolved from the token's own state, never taken on trust.
   */
  publicClient: PublicClient
  /** A `/settle` whose answer was lost is sent again after this long while the authorization is unused (ms). @default 10000 */
  resubmitAfterMs?: number
  /** How far back the recovery searches for the transaction that used an authorization. @default 10000n blocks */
  lookbackBlocks?: bigint
  /**
   * Pays refunds when a handler fails after settlement (`walletRefunder(…)`, from a wallet holding the payee's USDC).
   * Without it, paid resources must be registered with `settlement: 'after'` (settle only a handler's success).
   */
  refunder?: Refunder
}

/** Facilitator reasons that report the facilitator's own trouble, not a verdict on the payment. */
const INFRASTRUCTURE_REASONS = /^unexpected_(verify|settle)_error$/

/** Within a confirmation wait, the chain is looked at again this often. */
const WAIT_SLICE_MS = 1_000

/**
 * Settles through an x402 facilitator's HTTP API (`@x402/core`'s `HTTPFacilitatorClient`). The facilitator submits
 * the transfer and pays the gas; this settler persists that it handed the payment over **before** calling `/settle`,
 * confirms every reported transaction by its receipt, and resolves lost answers, `settlement_pending`, restarts and
 * failure reports from the chain (spec §7.1): a call is `void` only when the authorization was cancelled or is unused
 * past `validBefore`. Facilitator or network failures during verification throw {@link SettlerUnavailableError}.
 */
export function facilitatorSettler(init: FacilitatorSettlerInit): Settler {
  const client = new HTTPFacilitatorClient({
    url: init.url,
    ...(init.createAuthHeaders != null ? { createAuthHeaders: init.createAuthHeaders } : {})
  })
  const reader = init.publicClient
  const resubmitAfterMs = init.resubmitAfterMs ?? DEFAULT_FACILITATOR_RESUBMIT_MS

  async function verify(
    payload: PaymentPayload,
    requirements: PaymentRequirements,
    options: AbortOptions = {}
  ): Promise<VerifyResponse> {
    options.signal?.throwIfAborted()
    let verdict: VerifyResponse
    try {
      verdict = await client.verify(payload, requirements)
    } catch (err) {
      // A non-2xx answer that still carries a verdict is a verdict, not a transport failure.
      if (!(err instanceof VerifyError)) {
        throw new SettlerUnavailableError(`facilitator /verify failed: ${(err as Error).message}`, { cause: err })
      }
      verdict = {
        isValid: false,
        invalidReason: err.invalidReason ?? 'unexpected_verify_error',
        ...(err.invalidMessage != null ? { invalidMessage: err.invalidMessage } : {}),
        ...(err.payer != null ? { payer: err.payer } : {})
      }
    }
    if (!verdict.isValid && INFRASTRUCTURE_REASONS.test(verdict.invalidReason ?? '')) {
      throw new SettlerUnavailableError(
        `facilitator could not verify: ${verdict.invalidMessage ?? verdict.invalidReason}`
      )
    }
    return verdict
  }

  /** One `/settle`: the facilitator's answer, or `undefined` when there was none (its outcome is unknown). */
  async function submit(
    payload: PaymentPayload,
    requirements: PaymentRequirements
  ): Promise<SettleResponse | undefined> {
    try {
      return await client.settle(payload, requirements)
    } catch (err) {
      if (!(err instanceof SettleError)) return undefined
      return {
        success: false,
        errorReason: err.errorReason ?? 'unexpected_settle_error',
        ...(err.payer != null ? { payer: err.payer } : {}),
        transaction: err.transaction,
        network: err.network
      }
    }
  }

  async function settle(
    payload: PaymentPayload,
    requirements: PaymentRequirements,
    start: SettlementAttempt,
    options: SettleOptions
  ): Promise<SettlementOutcome> {
    const a = (payload.payload as { authorization: Authorization }).authorization
    const deadline = Date.now() + options.confirmationTimeoutMs
    let attempt: SettlementAttempt = { ...start, transactions: [...start.transactions] }
    const persist = async (next: SettlementAttempt): Promise<void> => {
      attempt = next
      await options.persist(next)
    }
    const hashes = (): Hex[] => attempt.transactions.map((t) => t.hash).reverse()

    for (let round = 0; ; round++) {
      options.signal?.throwIfAborted()
      for (const hash of hashes()) {
        const receipt = await getReceipt(reader, hash).catch(() => undefined)
        const settlement = receipt != null ? settlementFromReceipt(receipt, requirements, a) : undefined
        if (settlement != null) return { status: 'settled', settlement, attempt }
      }
      if (round > 0 || attempt.transactions.length > 0 || attempt.submittedAt != null) {
        const facts = await readAuthorization(reader, requirements, a, {
          ...(init.lookbackBlocks != null ? { lookbackBlocks: init.lookbackBlocks } : {}),
          ...(options.signal != null ? { signal: options.signal } : {})
        })
        if (facts.state === 'used') return { status: 'settled', settlement: facts.settlement, attempt }
        if (facts.state === 'consumed') {
          return facts.by === 'cancel'
            ? { status: 'void', reason: 'authorization_canceled', message: 'the payer cancelled it', attempt }
            : { status: 'void', reason: 'authorization_nonce_spent', message: 'the nonce paid someone else', attempt }
        }
        if (facts.expired) {
          return { status: 'void', reason: 'authorization_expired', message: 'unused past validBefore', attempt }
        }
      }
      if (attempt.submittedAt == null || Date.now() - attempt.submittedAt >= resubmitAfterMs) {
        await persist({ ...attempt, submittedAt: Date.now() })
        const answer = await submit(payload, requirements)
        const tx = answer?.transaction
        if (tx != null && isHash(tx) && !attempt.transactions.some((t) => t.hash === tx)) {
          await persist({ ...attempt, transactions: [...attempt.transactions, { hash: tx, at: Date.now() }] })
        }
        if (answer != null && answer.success !== true && answer.errorReason !== 'settlement_pending') {
          // The facilitator refused (its state changed since /verify): the authorization stays open until validBefore,
          // so the call stays pending; the resolver looks again and submits again later.
          await persist({ ...attempt, reason: answer.errorReason ?? 'facilitator_refused' })
          return { status: 'pending', attempt }
        }
        if (answer == null) {
          await persist({ ...attempt, reason: 'facilitator_unreachable' })
        } else if (attempt.reason != null) {
          const { reason: _, ...rest } = attempt
          await persist(rest)
        }
      }
      const remaining = deadline - Date.now()
      if (remaining <= 0) return { status: 'pending', attempt }
      const slice = Math.min(remaining, WAIT_SLICE_MS)
      if (hashes().length > 0) {
        const receipt = await waitForReceipt(reader, hashes(), slice, options.signal)
        const settlement = receipt != null ? settlementFromReceipt(receipt, requirements, a) : undefined
        if (settlement != null) return { status: 'settled', settlement, attempt }
      } else {
        await sleep(slice, options.signal)
      }
      if (Date.now() >= deadline) return { status: 'pending', attempt }
    }
  }

  return {
    name: 'facilitator',
    ...(init.payTo != null ? { payTo: init.payTo } : {}),
    ...(init.refunder != null ? { refunder: init.refunder } : {}),
    verify,
    settle
  }
}
