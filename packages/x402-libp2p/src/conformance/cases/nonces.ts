import { signExactPayment } from '../../client/sign.ts'
import { randomNonce } from '../authorization.ts'
import { type ConformanceCase, defineCase } from '../case.ts'
import { watchBalance } from '../chain.ts'
import type { CaseContext } from '../context.ts'
import { expectError } from '../expect.ts'
import type { Outcome } from '../outcome.ts'
import { exchangeFrame, expectRejectedPayment, paidRequest, settledCall, signChallenge } from '../steps.ts'

/** Runs `step` and checks that neither the payer's nor the payee's balance moved meanwhile (with a public client). */
async function withoutCharge(ctx: CaseContext, what: string, step: () => Promise<Outcome>): Promise<Outcome> {
  const { asset, payTo } = ctx.target.paid
  const payer = await watchBalance(ctx.publicClient, asset.address, ctx.payer.address)
  const payee = await watchBalance(ctx.publicClient, asset.address, payTo)
  const outcome = await step()
  await payer.expect(0n, `payer after ${what}`)
  await payee.expect(0n, `payee after ${what}`)
  return outcome
}

const nonceMismatch = defineCase(
  {
    id: 'error.nonce-mismatch',
    title: 'PAID_REQUEST signed with a nonce other than the challenge → NONCE_MISMATCH',
    specRef: '§5 step 8a'
  },
  async (ctx) => {
    await expectRejectedPayment(ctx, 'NONCE_MISMATCH', (c) =>
      signExactPayment(ctx.payer, c.requirement, randomNonce(), { resource: c.required.resource })
    )
  }
)

const replaySettled = defineCase(
  {
    id: 'error.nonce-used.replay',
    title: 'a settled payment replayed under a NEW correlation id → NONCE_USED, nothing charged',
    specRef: '§5 step 8b, §10 (replay)'
  },
  async (ctx) => {
    const call = await settledCall(ctx)
    const correlationId = ctx.correlationId()
    const replay = paidRequest({ ...call.challenge, correlationId, body: ctx.body(correlationId) }, call.payment)
    const outcome = await withoutCharge(ctx, 'a replay', async () => exchangeFrame(await ctx.open(), replay))
    expectError(outcome, 'NONCE_USED')
  }
)

const challengeConsumed = defineCase(
  {
    id: 'error.nonce-used.challenge-consumed',
    title:
      'a challenge consumed by a failed attempt (NONCE_MISMATCH) cannot be used again, even correctly signed, on a ' +
      'new stream → NONCE_USED',
    specRef: '§5 step 8a ("one attempt each")'
  },
  async (ctx) => {
    const challenge = await expectRejectedPayment(ctx, 'NONCE_MISMATCH', (c) =>
      signExactPayment(ctx.payer, c.requirement, randomNonce(), { resource: c.required.resource })
    )
    const retry = paidRequest(challenge, await signChallenge(challenge, ctx.payer))
    const outcome = await withoutCharge(ctx, 'reusing a consumed challenge', async () =>
      exchangeFrame(await ctx.open(), retry)
    )
    expectError(outcome, 'NONCE_USED')
  }
)

const correlationReuse = defineCase(
  {
    id: 'error.nonce-used.correlation-reuse',
    title: 'the correlation id of a settled call reused with a DIFFERENT payment → NONCE_USED, nothing charged',
    specRef: '§4.4'
  },
  async (ctx) => {
    const call = await settledCall(ctx)
    const other = await signExactPayment(ctx.payer, call.challenge.requirement, randomNonce())
    const frame = paidRequest(call.challenge, other)
    const outcome = await withoutCharge(ctx, 'reusing a correlation id', async () =>
      exchangeFrame(await ctx.open(), frame)
    )
    expectError(outcome, 'NONCE_USED')
  }
)

/** Challenge and replay cases, in run order. */
export const nonceCases: readonly ConformanceCase[] = [
  nonceMismatch,
  replaySettled,
  challengeConsumed,
  correlationReuse
]
