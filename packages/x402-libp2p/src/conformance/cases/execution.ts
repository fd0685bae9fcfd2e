import { type Hex, isHash } from 'viem'
import { type ConformanceCase, defineCase } from '../case.ts'
import { expectTransfer, watchBalance } from '../chain.ts'
import { check } from '../errors.ts'
import { expectError } from '../expect.ts'
import { exchangeFrame, paidRequest, reaskWhileRetryable, requestChallenge, signChallenge } from '../steps.ts'

/** The `details` of an EXECUTION_FAILED after payment (spec §7.5). */
interface FailureDetails {
  charged?: unknown
  refund?: { transaction?: unknown; amount?: unknown }
}

const executionFailed = defineCase(
  {
    id: 'error.execution-failed',
    title:
      'paid call of a resource whose handler fails → EXECUTION_FAILED that leaves the payer whole: refunded on-chain ' +
      '(details.refund names the transfer back) or never settled (details.charged = false); the identical re-ask ' +
      'returns the same stored error and moves nothing',
    specRef: '§4.4, §5 step 11, §7.5, §8'
  },
  async (ctx) => {
    const failing = ctx.target.failing ?? ctx.skip('no failing resource configured (target.failing)')
    const challenge = await requestChallenge(ctx, failing.resource, { amount: null })
    const { asset, amount } = challenge.requirement
    const payer = await watchBalance(ctx.publicClient, asset as Hex, ctx.payer.address)
    const frame = paidRequest(challenge, await signChallenge(challenge, ctx.payer))
    // A refund in flight is answered with the retryable SETTLEMENT_PENDING: re-ask as a client does.
    const outcome = await reaskWhileRetryable(ctx, frame, await exchangeFrame(challenge.exchange, frame))
    const first = expectError(outcome, 'EXECUTION_FAILED')
    let details: FailureDetails = {}
    try {
      details = JSON.parse(new TextDecoder().decode(first.details)) as FailureDetails
    } catch {
      // checked below: the details must say what happened to the payment
    }
    const refund = details.refund?.transaction
    check(
      details.charged === false || (typeof refund === 'string' && isHash(refund)),
      'EXECUTION_FAILED after payment must carry details.charged = false (never settled) or details.refund.transaction ' +
        '(refunded): a buyer must not end charged without a result or a refund'
    )
    if (typeof refund === 'string' && isHash(refund) && ctx.publicClient != null) {
      await expectTransfer(ctx.publicClient, refund, {
        token: asset as Hex,
        to: ctx.payer.address,
        amount: BigInt(amount)
      })
    }
    await payer.expect(0n, 'payer after a paid call whose handler failed (refunded, or never charged)')

    const after = await watchBalance(ctx.publicClient, asset as Hex, ctx.payer.address)
    const again = expectError(await exchangeFrame(await ctx.open(), frame), 'EXECUTION_FAILED', 're-ask')
    check(
      again.message === first.message,
      `re-ask returned EXECUTION_FAILED "${again.message}", not the stored "${first.message}"`
    )
    await after.expect(0n, 'payer after the re-ask')
  }
)

/** Handler failure cases, in run order. */
export const executionCases: readonly ConformanceCase[] = [executionFailed]
