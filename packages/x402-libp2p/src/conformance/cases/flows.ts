import type { LocalAccount } from 'viem'
import { signExactPayment } from '../../client/sign.ts'
import { randomNonce } from '../authorization.ts'
import { type ConformanceCase, defineCase } from '../case.ts'
import { watchBalance } from '../chain.ts'
import { ConformanceFailure, check } from '../errors.ts'
import { expectResponse, sameAddress, sameBytes } from '../expect.ts'
import { describeOutcome, readOutcome } from '../outcome.ts'
import {
  exchangeFrame,
  expectSettled,
  paidRequest,
  reaskWhileRetryable,
  requestChallenge,
  settledCall,
  signChallenge
} from '../steps.ts'

/** `settlement.payer`, when present, is the payer (spec §3). */
function expectPayer(settlement: { payer?: string }, payer: LocalAccount): void {
  if (settlement.payer != null) {
    check(sameAddress(settlement.payer, payer.address), `settlement.payer is ${settlement.payer}, not ${payer.address}`)
  }
}

/** §4.1: a free resource answers a REQUEST with RESPONSE frames, no payment. */
const freeCall = defineCase(
  { id: 'flow.free', title: 'free resource: REQUEST → final RESPONSE', specRef: '§4.1' },
  async (ctx) => {
    const free = ctx.target.free ?? ctx.skip('no free resource configured (target.free)')
    const correlationId = ctx.correlationId()
    const exchange = await ctx.open()
    await exchange.send({
      type: 'REQUEST',
      correlationId,
      request: { resource: free.resource, body: ctx.body(correlationId), contentType: '' }
    })
    expectResponse(await readOutcome(exchange, correlationId), 'free call')
  }
)

/** §4.2 with every field of the PAYMENT_REQUIRED and the settlement checked. */
const twoTrip = defineCase(
  {
    id: 'flow.two-trip',
    title:
      'REQUEST → PAYMENT_REQUIRED (32-byte challenge, future expires_at, x402 v2 requirements as configured) → ' +
      'PAID_REQUEST signed with the challenge → final RESPONSE with a successful settlement',
    specRef: '§3, §4.2, §5'
  },
  async (ctx) => {
    const target = ctx.target.paid
    const payee = await watchBalance(ctx.publicClient, target.asset.address, target.payTo)
    const challenge = await requestChallenge(ctx)
    check(challenge.challenge.byteLength === 32, `challenge is ${challenge.challenge.byteLength} bytes, not 32`)
    const now = BigInt(Math.floor(Date.now() / 1000))
    check(challenge.expiresAt > now, `expires_at ${challenge.expiresAt} is not in the future (now ${now})`)
    const { required } = challenge
    check(required.x402Version === 2, `x402Version is ${required.x402Version}`)
    const url = required.resource.url
    check(url.startsWith('libp2p://'), `resource.url "${url}" does not start with libp2p://`)
    const peer = challenge.exchange.remotePeer
    if (peer != null)
      check(url.startsWith(`libp2p://${peer}/`), `resource.url "${url}" does not name the server ${peer}`)
    const first = required.accepts[0]
    check(first != null, 'accepts is empty')
    check(first.scheme === 'exact', `accepts[0].scheme is ${first.scheme}`)
    check(first.network === target.asset.network, `accepts[0].network is ${first.network}`)
    check(first.amount === target.amount.toString(), `accepts[0].amount is ${first.amount}, not ${target.amount}`)
    check(sameAddress(first.asset, target.asset.address), `accepts[0].asset is ${first.asset}`)
    check(sameAddress(first.payTo, target.payTo), `accepts[0].payTo is ${first.payTo}`)
    const extra = first.extra as { name?: unknown; version?: unknown }
    check(
      extra.name === target.asset.name && extra.version === target.asset.version,
      `accepts[0].extra is ${JSON.stringify(first.extra)}, not the token's EIP-712 domain`
    )

    const payment = await signChallenge(challenge, ctx.payer)
    const outcome = await exchangeFrame(challenge.exchange, paidRequest(challenge, payment))
    const { settlement } = await expectSettled(ctx, outcome, challenge.requirement, ctx.payer)
    expectPayer(settlement, ctx.payer)
    await payee.expect(target.amount, 'payee after a two-trip call')
  }
)

/** §4.2 step 3: the PAID_REQUEST may come on a new stream with the same correlation id. */
const twoTripNewStream = defineCase(
  {
    id: 'flow.two-trip.new-stream',
    title: 'challenge stream reset after PAYMENT_REQUIRED; PAID_REQUEST on a new stream (same correlation id) settles',
    specRef: '§4.2 step 3'
  },
  async (ctx) => {
    const target = ctx.target.paid
    const payee = await watchBalance(ctx.publicClient, target.asset.address, target.payTo)
    const challenge = await requestChallenge(ctx)
    challenge.exchange.abort()
    const payment = await signChallenge(challenge, ctx.payer)
    const outcome = await exchangeFrame(await ctx.open(), paidRequest(challenge, payment))
    await expectSettled(ctx, outcome, challenge.requirement, ctx.payer)
    await payee.expect(target.amount, 'payee after the call')
  }
)

/** §4.3: preemptive payment with requirements held from an earlier PAYMENT_REQUIRED and a random nonce. */
const oneTrip = defineCase(
  {
    id: 'flow.one-trip',
    title: 'preemptive PAID_REQUEST (known requirements, random nonce, no REQUEST) settles',
    specRef: '§4.3'
  },
  async (ctx) => {
    const target = ctx.target.paid
    const earlier = await requestChallenge(ctx)
    earlier.exchange.abort()
    const payee = await watchBalance(ctx.publicClient, target.asset.address, target.payTo)
    const correlationId = ctx.correlationId()
    const call = { correlationId, resource: target.resource, body: ctx.body(correlationId) }
    const payment = await signExactPayment(ctx.payer, earlier.requirement, randomNonce())
    const outcome = await exchangeFrame(await ctx.open(), paidRequest(call, payment))
    const { settlement } = await expectSettled(ctx, outcome, earlier.requirement, ctx.payer)
    expectPayer(settlement, ctx.payer)
    await payee.expect(target.amount, 'payee after a one-trip call')
  }
)

/** §4.4: the identical PAID_REQUEST on a new stream gets the stored result, and nothing is charged again. */
const reask = defineCase(
  {
    id: 'flow.reask',
    title: 'identical PAID_REQUEST re-sent on a new stream → same result bytes and tx hash, no second charge',
    specRef: '§4.4, §7'
  },
  async (ctx) => {
    const target = ctx.target.paid
    const call = await settledCall(ctx)
    const payee = await watchBalance(ctx.publicClient, target.asset.address, target.payTo)
    const again = await exchangeFrame(await ctx.open(), call.paid)
    const { response, settlement } = await expectSettled(ctx, again, call.challenge.requirement, ctx.payer)
    check(sameBytes(response.body, call.response.body), 're-ask returned different result bytes')
    check(
      settlement.transaction === call.settlement.transaction,
      `re-ask returned tx ${settlement.transaction}, the call settled in ${call.settlement.transaction}`
    )
    await payee.expect(0n, 'payee after the re-ask')
  }
)

/**
 * §4.4: a re-ask that races the original PAID_REQUEST (its stream looked dead) must not be told the payment is void
 * while the original settles: each stream gets the result, or a retryable error after which a re-ask gets it.
 */
const reaskConcurrent = defineCase(
  {
    id: 'flow.reask.concurrent',
    title:
      'identical PAID_REQUEST on two streams at once → one charge; each gets the result or a retryable error, never ' +
      'a final rejection of the paid call',
    specRef: '§4.4, §10 (paying twice)'
  },
  async (ctx) => {
    const target = ctx.target.paid
    const payee = await watchBalance(ctx.publicClient, target.asset.address, target.payTo)
    const challenge = await requestChallenge(ctx)
    const frame = paidRequest(challenge, await signChallenge(challenge, ctx.payer))
    const second = await ctx.open()
    const [firstA, firstB] = await Promise.all([exchangeFrame(challenge.exchange, frame), exchangeFrame(second, frame)])
    const [a, b] = await Promise.all([reaskWhileRetryable(ctx, frame, firstA), reaskWhileRetryable(ctx, frame, firstB)])
    const rejected = [a, b].find((o) => o.kind === 'error')
    if (rejected != null) {
      const other = rejected === a ? b : a
      throw new ConformanceFailure(
        `one stream got ${describeOutcome(rejected)} (retryable=false) while the other got ${describeOutcome(other)}` +
          '; a client obeying the final error gives up on a call that is paid'
      )
    }
    const one = await expectSettled(ctx, a, challenge.requirement, ctx.payer)
    const two = await expectSettled(ctx, b, challenge.requirement, ctx.payer)
    check(one.settlement.transaction === two.settlement.transaction, 'the two streams report different transactions')
    check(sameBytes(one.response.body, two.response.body), 'the two streams returned different result bytes')
    await payee.expect(target.amount, 'payee after two identical PAID_REQUESTs')
  }
)

/** Flow cases, in run order. */
export const flowCases: readonly ConformanceCase[] = [
  freeCall,
  twoTrip,
  twoTripNewStream,
  oneTrip,
  reask,
  reaskConcurrent
]
