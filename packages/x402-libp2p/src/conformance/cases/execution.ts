import type { Hex } from 'viem'
import { type ConformanceCase, defineCase } from '../case.ts'
import { watchBalance } from '../chain.ts'
import { check } from '../errors.ts'
import { expectError } from '../expect.ts'
import { exchangeFrame, paidRequest, requestChallenge, signChallenge } from '../steps.ts'

const executionFailed = defineCase(
  {
    id: 'error.execution-failed',
    title:
      'paid call of a resource whose handler fails → EXECUTION_FAILED after payment; the identical re-ask returns the ' +
      'same stored EXECUTION_FAILED and charges nothing more',
    specRef: '§4.4, §5 step 11, §8'
  },
  async (ctx) => {
    const failing = ctx.target.failing ?? ctx.skip('no failing resource configured (target.failing)')
    const challenge = await requestChallenge(ctx, failing.resource, { amount: null })
    const { asset, payTo, amount } = challenge.requirement
    const payee = await watchBalance(ctx.publicClient, asset as Hex, payTo as Hex)
    const frame = paidRequest(challenge, await signChallenge(challenge, ctx.payer))
    const first = expectError(await exchangeFrame(challenge.exchange, frame), 'EXECUTION_FAILED')
    await payee.expect(BigInt(amount), 'payee after a paid call whose handler failed (the buyer has paid)')

    const settled = await watchBalance(ctx.publicClient, asset as Hex, payTo as Hex)
    const again = expectError(await exchangeFrame(await ctx.open(), frame), 'EXECUTION_FAILED', 're-ask')
    check(
      again.message === first.message,
      `re-ask returned EXECUTION_FAILED "${again.message}", not the stored "${first.message}"`
    )
    await settled.expect(0n, 'payee after the re-ask')
  }
)

/** Handler failure cases, in run order. */
export const executionCases: readonly ConformanceCase[] = [executionFailed]
