import type { PaymentRequired, PaymentRequirements } from '@x402/core/types'
import { toHex } from 'viem'
import { signExactPayment } from '../../client/sign.ts'
import { parsePaymentRequiredBytes } from '../../payment.ts'
import type { WireMessage } from '../../wire.ts'
import { type ConformanceCase, defineCase } from '../case.ts'
import { watchBalance } from '../chain.ts'
import type { CaseContext } from '../context.ts'
import { ConformanceFailure, check } from '../errors.ts'
import type { RawExchange } from '../exchange.ts'
import { expectError, expectResponse } from '../expect.ts'
import { describeOutcome, type Outcome } from '../outcome.ts'
import { expectSettled, paidRequest, pickRequirement } from '../steps.ts'

/** A frame that ends one exchange of a session (spec §2.1). */
const isLast = (f: WireMessage): boolean =>
  f.type === 'PAYMENT_REQUIRED' || f.type === 'ERROR' || (f.type === 'RESPONSE' && f.response.final)

/** Reads a session until each of `ids` got its last frame; each id's outcome (frames of other ids fail the case). */
async function readAnswers(session: RawExchange, ids: readonly string[]): Promise<Map<string, Outcome>> {
  const bodies = new Map<string, Uint8Array[]>(ids.map((id) => [id, []]))
  const out = new Map<string, Outcome>()
  while (out.size < ids.length) {
    const result = await session.read()
    if (result.kind === 'timeout') throw new ConformanceFailure('no answer on the session')
    if (result.kind === 'ended')
      throw new ConformanceFailure(`the session ended before every answer (${result.reason})`)
    const frame = result.frame
    const parts = bodies.get(frame.correlationId)
    if (parts == null || out.has(frame.correlationId)) {
      throw new ConformanceFailure(`a ${frame.type} frame for correlation id "${frame.correlationId}", not asked for`)
    }
    if (frame.type === 'RESPONSE') parts.push(frame.response.body)
    if (!isLast(frame)) continue
    if (frame.type === 'ERROR') out.set(frame.correlationId, { kind: 'error', error: frame.error })
    else if (frame.type === 'PAYMENT_REQUIRED') {
      out.set(frame.correlationId, { kind: 'payment-required', paymentRequired: frame.paymentRequired })
    } else if (frame.type === 'RESPONSE') {
      const body = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
      let offset = 0
      for (const p of parts) {
        body.set(p, offset)
        offset += p.byteLength
      }
      const { settlement, contentType } = frame.response
      out.set(frame.correlationId, { kind: 'response', body, settlement, contentType, frames: parts.length })
    }
  }
  return out
}

/** A challenge received on a session, signed as a conforming client does: the PAID_REQUEST to send. */
async function payChallenge(
  ctx: CaseContext,
  call: { correlationId: string; resource: string; body: Uint8Array },
  outcome: Outcome | undefined
): Promise<{ paid: WireMessage; requirement: PaymentRequirements }> {
  if (outcome?.kind !== 'payment-required') {
    throw new ConformanceFailure(`REQUEST on a session: expected PAYMENT_REQUIRED, got ${describe(outcome)}`)
  }
  let required: PaymentRequired
  try {
    required = parsePaymentRequiredBytes(outcome.paymentRequired.paymentRequired)
  } catch (err) {
    throw new ConformanceFailure(`payment_required is not an x402 v2 PaymentRequired: ${(err as Error).message}`)
  }
  const requirement = pickRequirement(ctx, required, ctx.target.paid.amount)
  const nonce = toHex(outcome.paymentRequired.challenge)
  const payment = await signExactPayment(ctx.payer, requirement, nonce, { resource: required.resource })
  return { paid: paidRequest(call, payment), requirement }
}

const describe = (outcome: Outcome | undefined): string => (outcome == null ? 'nothing' : describeOutcome(outcome))

/** Re-sends `paid` on `session` while the answer is SETTLEMENT_PENDING (about 10 s at most), as a client does. */
async function untilSettled(session: RawExchange, paid: WireMessage, first: Outcome | undefined): Promise<Outcome> {
  let outcome = first
  for (let i = 0; i < 40 && outcome?.kind === 'error' && outcome.error.name === 'SETTLEMENT_PENDING'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250))
    await session.send(paid)
    outcome = (await readAnswers(session, [paid.correlationId])).get(paid.correlationId)
  }
  if (outcome == null) throw new ConformanceFailure('no answer to the PAID_REQUEST')
  return outcome
}

/** §2.1: many exchanges on one session, interleaved — challenges, a free call and payments, told apart by id. */
const interleaved = defineCase(
  {
    id: 'session.interleaved',
    title:
      'one /x402/libp2p/2.1.0 session: two paid REQUESTs and a free one sent back to back, each answered under its ' +
      'own correlation id; both PAID_REQUESTs (new exchanges, same ids) settle on the same session',
    specRef: '§2.1, §4.2'
  },
  async (ctx) => {
    const target = ctx.target.paid
    const session = await ctx.openSession()
    const payee = await watchBalance(ctx.publicClient, target.asset.address, target.payTo)
    const calls = [ctx.correlationId(), ctx.correlationId()].map((correlationId) => ({
      correlationId,
      resource: target.resource,
      body: ctx.body(correlationId)
    }))
    const free = ctx.target.free != null ? { id: ctx.correlationId(), resource: ctx.target.free.resource } : undefined
    const requests: WireMessage[] = calls.map((c) => ({
      type: 'REQUEST',
      correlationId: c.correlationId,
      request: { resource: c.resource, body: c.body, contentType: '' }
    }))
    if (free != null) {
      const request = { resource: free.resource, body: ctx.body(free.id), contentType: '' }
      requests.splice(1, 0, { type: 'REQUEST', correlationId: free.id, request })
    }
    for (const r of requests) await session.send(r)
    const answers = await readAnswers(
      session,
      requests.map((r) => r.correlationId)
    )
    if (free != null) expectResponse(answers.get(free.id) as Outcome, 'free call on a session')
    const payments = await Promise.all(calls.map((c) => payChallenge(ctx, c, answers.get(c.correlationId))))
    for (const p of payments) await session.send(p.paid)
    const paid = await readAnswers(
      session,
      payments.map((p) => p.paid.correlationId)
    )
    const txs = new Set<string>()
    for (const p of payments) {
      const outcome = await untilSettled(session, p.paid, paid.get(p.paid.correlationId))
      txs.add((await expectSettled(ctx, outcome, p.requirement, ctx.payer)).settlement.transaction)
    }
    await payee.expect(2n * target.amount, `payee after two paid calls on one session (${txs.size} transaction(s))`)
  }
)

/** §2.1, §4.4: a session reset after the PAID_REQUEST; the identical frame on a new session gets the result, once. */
const reaskAfterReset = defineCase(
  {
    id: 'session.reask-after-reset',
    title:
      'session reset right after a PAID_REQUEST; the identical PAID_REQUEST on a new session gets the result, and ' +
      'the payment is charged once',
    specRef: '§2.1, §4.4'
  },
  async (ctx) => {
    const target = ctx.target.paid
    const payee = await watchBalance(ctx.publicClient, target.asset.address, target.payTo)
    const first = await ctx.openSession()
    const correlationId = ctx.correlationId()
    const call = { correlationId, resource: target.resource, body: ctx.body(correlationId) }
    await first.send({
      type: 'REQUEST',
      correlationId,
      request: { resource: call.resource, body: call.body, contentType: '' }
    })
    const { paid, requirement } = await payChallenge(
      ctx,
      call,
      (await readAnswers(first, [correlationId])).get(correlationId)
    )
    await first.send(paid)
    first.abort()
    const second = await ctx.openSession()
    await second.send(paid)
    const outcome = await untilSettled(second, paid, (await readAnswers(second, [correlationId])).get(correlationId))
    await expectSettled(ctx, outcome, requirement, ctx.payer)
    await payee.expect(target.amount, 'payee after a paid call re-asked on a new session')
  }
)

/** §2.1: a frame that cannot open an exchange is INVALID_MESSAGE and ends the session; a new session works. */
const invalidFrame = defineCase(
  {
    id: 'session.invalid-frame',
    title: 'a RESPONSE frame sent on a session → ERROR INVALID_MESSAGE, the server ends the session; a new one works',
    specRef: '§2.1, §3'
  },
  async (ctx) => {
    const session = await ctx.openSession()
    const correlationId = ctx.correlationId()
    const response = { body: new Uint8Array(0), final: true, settlement: new Uint8Array(0), contentType: '' }
    await session.send({ type: 'RESPONSE', correlationId, response })
    const ended = await session.waitForEnd(ctx.limits.frameTimeoutMs + 5_000)
    const error = ended.frames.find((f) => f.type === 'ERROR')
    check(error != null, `no ERROR frame before the session ended (${ended.frames.length} frame(s))`)
    expectError({ kind: 'error', error: error.error }, 'INVALID_MESSAGE')
    check(ended.ended, `the server did not end the session within ${ended.elapsedMs} ms`)
    const next = await ctx.openSession()
    const id = ctx.correlationId()
    const { resource } = ctx.target.paid
    await next.send({ type: 'REQUEST', correlationId: id, request: { resource, body: ctx.body(id), contentType: '' } })
    const answer = (await readAnswers(next, [id])).get(id)
    check(answer?.kind === 'payment-required', `a new session answered ${describe(answer)}, not PAYMENT_REQUIRED`)
  }
)

/** Session cases (spec §2.1), skipped for a target without sessions. */
export const sessionCases: readonly ConformanceCase[] = [interleaved, reaskAfterReset, invalidFrame]
