import type { Hex } from 'viem'
import { type ConformanceCase, defineCase } from '../case.ts'
import { watchBalance } from '../chain.ts'
import type { CaseContext } from '../context.ts'
import { ConformanceFailure, check } from '../errors.ts'
import type { RawExchange } from '../exchange.ts'
import { expectError } from '../expect.ts'
import { describeOutcome, readOutcome } from '../outcome.ts'
import { exchangeFrame, expectSettled, paidRequest, requestChallenge, signChallenge } from '../steps.ts'

/** Runs `step` with a fault in place, undoing it whatever happens. */
async function withFault<T>(install: () => Promise<() => Promise<void>>, step: () => Promise<T>): Promise<T> {
  const undo = await install()
  try {
    return await step()
  } finally {
    await undo()
  }
}

/** Re-sends `paid` on a new stream and returns the exchange with its outcome. */
async function reask(ctx: CaseContext, paid: Parameters<RawExchange['send']>[0]) {
  const exchange = await ctx.open()
  return exchangeFrame(exchange, paid)
}

/**
 * §8, §5 step 8e: a verification the server could not run because its chain (or facilitator) was unreachable is the
 * retryable SERVICE_UNAVAILABLE; the challenge is not consumed, so the identical PAID_REQUEST succeeds afterwards.
 */
const infrastructureRetryable = defineCase(
  {
    id: 'recovery.verification-unavailable',
    title:
      'chain unreachable during verification → ERROR SERVICE_UNAVAILABLE (retryable), nothing reserved; the identical ' +
      'PAID_REQUEST on a new stream then settles once',
    specRef: '§5 step 8e, §7.3, §8'
  },
  async (ctx) => {
    const interrupt = ctx.faults.interruptVerification ?? ctx.skip('no faults.interruptVerification hook')
    const target = ctx.target.paid
    const payee = await watchBalance(ctx.publicClient, target.asset.address, target.payTo)
    const challenge = await requestChallenge(ctx)
    const paid = paidRequest(challenge, await signChallenge(challenge, ctx.payer))
    const first = await withFault(interrupt, () => exchangeFrame(challenge.exchange, paid))
    expectError(first, 'SERVICE_UNAVAILABLE', 'PAID_REQUEST while the chain is unreachable')
    await payee.expect(0n, 'payee after SERVICE_UNAVAILABLE')
    const again = await reask(ctx, paid)
    await expectSettled(ctx, again, challenge.requirement, ctx.payer)
    await payee.expect(target.amount, 'payee after the retried PAID_REQUEST')
  }
)

/**
 * §4.4, §7: while blocks are held the transfer cannot confirm: the server answers SETTLEMENT_PENDING (retryable, with
 * the transaction when it has one) or keeps the stream until it gives up; once blocks resume, the identical
 * PAID_REQUEST returns the result with the settlement — the same transaction — and the payee was paid exactly once.
 */
const reaskAfterPending = defineCase(
  {
    id: 'recovery.reask-after-pending',
    title:
      'blocks held after PAID_REQUEST → SETTLEMENT_PENDING (retryable) or a broken stream; blocks resume → the ' +
      'identical PAID_REQUEST returns the result with the same settlement, paid once',
    specRef: '§4.4, §7.1, §8'
  },
  async (ctx) => {
    const hold = ctx.faults.holdBlocks ?? ctx.skip('no faults.holdBlocks hook')
    const target = ctx.target.paid
    const payee = await watchBalance(ctx.publicClient, target.asset.address, target.payTo)
    const challenge = await requestChallenge(ctx)
    const paid = paidRequest(challenge, await signChallenge(challenge, ctx.payer))
    let pendingTx: string | undefined
    await withFault(hold, async () => {
      await challenge.exchange.send(paid)
      const outcome = await readOutcome(challenge.exchange, paid.correlationId).catch((err: unknown) => {
        if (err instanceof ConformanceFailure) throw err
        return { kind: 'ended' as const, reason: String(err) }
      })
      if (outcome.kind === 'ended') return // the server gave up on the stream: a re-ask is the way back
      const error = expectError(outcome, 'SETTLEMENT_PENDING', 'PAID_REQUEST while blocks are held')
      if (error.details.byteLength > 0) {
        const details = JSON.parse(new TextDecoder().decode(error.details)) as { transaction?: unknown }
        if (typeof details.transaction === 'string') pendingTx = details.transaction
      }
      // A re-ask while still pending is answered the same way, never with a fresh PAYMENT_REQUIRED.
      const again = await reask(ctx, paid)
      check(
        again.kind === 'error' && again.error.name === 'SETTLEMENT_PENDING',
        () => `re-ask while pending: expected SETTLEMENT_PENDING, got ${describeOutcome(again)}`
      )
    })
    let settled: Awaited<ReturnType<typeof expectSettled>> | undefined
    for (let i = 0; i < 20 && settled == null; i++) {
      const outcome = await reask(ctx, paid)
      if (outcome.kind === 'error' && outcome.error.name === 'SETTLEMENT_PENDING') {
        await new Promise((resolve) => setTimeout(resolve, 250))
        continue
      }
      settled = await expectSettled(ctx, outcome, challenge.requirement, ctx.payer)
    }
    check(settled != null, 'still SETTLEMENT_PENDING 5 s after blocks resumed')
    if (pendingTx != null) {
      check(
        settled.settlement.transaction.toLowerCase() === (pendingTx as Hex).toLowerCase(),
        `settled by ${settled.settlement.transaction}, not the pending ${pendingTx}`
      )
    }
    await payee.expect(target.amount, 'payee after the re-asks')
  }
)

export const recoveryCases: readonly ConformanceCase[] = [infrastructureRetryable, reaskAfterPending]
