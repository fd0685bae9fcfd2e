import { type PublicClient, parseTransaction } from 'viem'
import { type ReplacementPolicy, replacementFees } from './fees.ts'
import type { SettlementSender } from './sender.ts'
import type { SettlementAttempt, SettlementTransaction } from './settler.ts'
import { simulateSettlement } from './simulation.ts'

/** What tending a live transaction needs: the chain, the account's sender and the replacement policy. */
export interface LiveTransactionContext {
  reader: PublicClient
  sender: SettlementSender
  /** A broadcast transaction next in line but unmined this long is replaced with higher fees (ms). */
  stuckAfterMs: number
  replacement: ReplacementPolicy
  /** How long an unexplained nonce gap is left before it is filled (ms). */
  gapGraceMs: number
}

/**
 * Where the live (newest) transaction of an attempt stands after repairing what can be: `displaced` when its nonce was
 * mined (the caller must check none of its own transactions has a receipt before concluding another transaction took
 * the nonce), `no-gas-funds` when a re-broadcast is refused for gas, otherwise `waiting` — after re-broadcasting it if
 * the node no longer knows it, replacing it with higher fees when stuck, or filling a nonce gap below it (spec §7.3).
 */
export type LiveState = 'waiting' | 'displaced' | 'no-gas-funds'

/**
 * Tends the live transaction of `attempt` (see {@link LiveState}). A replacement is persisted through `persist` before
 * it is broadcast. `justSent` skips the checks right after a broadcast in the same run: the node was just told.
 */
export async function tendLiveTransaction(
  ctx: LiveTransactionContext,
  attempt: SettlementAttempt,
  live: SettlementTransaction,
  justSent: boolean,
  persist: (attempt: SettlementAttempt) => Promise<void>
): Promise<LiveState> {
  const { sender } = ctx
  const nonce = live.nonce ?? 0
  const mined = await sender.minedNonce()
  if (nonce < mined) return 'displaced'
  if (justSent && Date.now() - live.at < 1_000) return 'waiting'
  if (!(await sender.known(live.hash))) {
    const result = await sender.rebroadcast(live)
    if (result === 'displaced' || result === 'no-gas-funds') return result
    // Its fee cap is below the base fee now: it cannot enter the pool — replace it at the same nonce.
    if (result === 'fee-too-low') return reprice(ctx, attempt, live, persist)
    return 'waiting'
  }
  if (nonce === mined && Date.now() - live.at >= ctx.stuckAfterMs) return reprice(ctx, attempt, live, persist)
  if (nonce > mined) await sender.repairGap(ctx.gapGraceMs)
  return 'waiting'
}

/**
 * Replaces the live transaction at its nonce with higher fees, after simulating the replacement with exactly the
 * fields it will be signed with. A replacement that would not succeed is not sent (the chain then decides).
 */
async function reprice(
  ctx: LiveTransactionContext,
  attempt: SettlementAttempt,
  live: SettlementTransaction,
  persist: (attempt: SettlementAttempt) => Promise<void>
): Promise<LiveState> {
  if (live.raw == null) return 'waiting'
  const { sender } = ctx
  // A halted chain is not a fee problem: replace only once a block was produced after we first saw it stuck (by
  // block number: the chain's clock and ours may disagree).
  if (!sender.blockSinceStuck(live.hash, await ctx.reader.getBlockNumber({ cacheTime: 0 }))) return 'waiting'
  const parsed = parseTransaction(live.raw)
  if (parsed.to == null) return 'waiting'
  const first = attempt.transactions[0] ?? live
  const feesOf = (t: SettlementTransaction) => ({
    maxFeePerGas: BigInt(t.maxFeePerGas ?? '0'),
    maxPriorityFeePerGas: BigInt(t.maxPriorityFeePerGas ?? '0')
  })
  const fees = replacementFees(feesOf(live), feesOf(first), await sender.marketFees(), ctx.replacement)
  if (fees == null) return 'waiting' // at the cap: it is mined at these fees, or it stays unmined
  const call = { from: sender.address, to: parsed.to, data: parsed.data ?? '0x', gas: parsed.gas ?? 0n, fees }
  if ((await simulateSettlement(ctx.reader, call)) != null) return 'waiting'
  const { result } = await sender.replace(live, call, (next) =>
    persist({ transactions: [...attempt.transactions, next] })
  )
  return result === 'displaced' || result === 'no-gas-funds' ? result : 'waiting'
}
