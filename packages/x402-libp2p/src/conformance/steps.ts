import type { PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse } from '@x402/core/types'
import { type Hex, type LocalAccount, toHex } from 'viem'
import { signExactPayment } from '../client/sign.ts'
import type { ErrorCodeName } from '../errors.ts'
import { jsonBytes } from '../json.ts'
import { parsePaymentRequiredBytes } from '../payment.ts'
import type { WireMessage } from '../wire.ts'
import { expectTransfer, watchBalance } from './chain.ts'
import type { CaseContext } from './context.ts'
import { ConformanceFailure } from './errors.ts'
import type { RawExchange } from './exchange.ts'
import { expectError, expectResponse, expectSettlement, type ResponseOutcome, sameAddress } from './expect.ts'
import { describeOutcome, type Outcome, readOutcome } from './outcome.ts'

/** A PAYMENT_REQUIRED received for a REQUEST, with the stream still open for the PAID_REQUEST. */
export interface Challenge {
  exchange: RawExchange
  correlationId: string
  resource: string
  body: Uint8Array
  /** The 32-byte challenge as hex: the EIP-3009 nonce to sign. */
  nonce: Hex
  challenge: Uint8Array
  expiresAt: bigint
  required: PaymentRequired
  /** The offered requirement matching the target's configured network, asset, payee (and amount when known). */
  requirement: PaymentRequirements
}

/** Which offered requirement to pay: the configured network, asset and payee, and `amount` when given. */
export function pickRequirement(
  ctx: CaseContext,
  required: PaymentRequired,
  amount: bigint | undefined
): PaymentRequirements {
  const { asset, payTo } = ctx.target.paid
  const found = required.accepts.find(
    (r) =>
      r.scheme === 'exact' &&
      r.network === asset.network &&
      sameAddress(r.asset, asset.address) &&
      sameAddress(r.payTo, payTo) &&
      (amount == null || r.amount === amount.toString())
  )
  if (found == null) {
    throw new ConformanceFailure(
      `no offered requirement is exact/${asset.network}/${asset.address}/payTo ${payTo}` +
        `${amount != null ? `/amount ${amount}` : ''}: ${JSON.stringify(required.accepts)}`
    )
  }
  return found
}

/**
 * REQUEST → PAYMENT_REQUIRED (spec §4.2 steps 1–2) on a new stream. `amount` selects the requirement (default: the
 * target's paid amount; `null` for any amount, e.g. the failing resource).
 */
export async function requestChallenge(
  ctx: CaseContext,
  resource = ctx.target.paid.resource,
  options: { correlationId?: string; amount?: bigint | null } = {}
): Promise<Challenge> {
  const correlationId = options.correlationId ?? ctx.correlationId()
  const body = ctx.body(correlationId)
  const exchange = await ctx.open()
  await exchange.send({ type: 'REQUEST', correlationId, request: { resource, body, contentType: '' } })
  const outcome = await readOutcome(exchange, correlationId)
  if (outcome.kind !== 'payment-required') {
    throw new ConformanceFailure(
      `REQUEST for paid "${resource}": expected PAYMENT_REQUIRED, got ${describeOutcome(outcome)}`
    )
  }
  const { paymentRequired } = outcome
  let required: PaymentRequired
  try {
    required = parsePaymentRequiredBytes(paymentRequired.paymentRequired)
  } catch (err) {
    throw new ConformanceFailure(`payment_required is not an x402 v2 PaymentRequired: ${(err as Error).message}`)
  }
  const amount = options.amount === undefined ? ctx.target.paid.amount : (options.amount ?? undefined)
  return {
    exchange,
    correlationId,
    resource,
    body,
    nonce: toHex(paymentRequired.challenge),
    challenge: paymentRequired.challenge,
    expiresAt: paymentRequired.expiresAt,
    required,
    requirement: pickRequirement(ctx, required, amount)
  }
}

/** Signs the challenge as a conforming client does (spec §6): `@betar/x402-libp2p`'s `signExactPayment`. */
export function signChallenge(challenge: Challenge, signer: LocalAccount): Promise<PaymentPayload> {
  return signExactPayment(signer, challenge.requirement, challenge.nonce, { resource: challenge.required.resource })
}

/** The PAID_REQUEST frame for a call: same correlation id, resource and body, with `payment` as JSON. */
export function paidRequest(
  call: { correlationId: string; resource: string; body: Uint8Array },
  payment: PaymentPayload | Uint8Array
): WireMessage {
  return {
    type: 'PAID_REQUEST',
    correlationId: call.correlationId,
    request: {
      resource: call.resource,
      body: call.body,
      contentType: '',
      payment: payment instanceof Uint8Array ? payment : jsonBytes(payment)
    }
  }
}

/** Sends a frame and reads the server's answer. */
export async function exchangeFrame(exchange: RawExchange, frame: WireMessage): Promise<Outcome> {
  await exchange.send(frame)
  return readOutcome(exchange, frame.correlationId)
}

/** Re-asks (new stream, same frame) while the answer is SETTLEMENT_PENDING, for at most about 10 s (§4.4). */
export async function reaskWhilePending(ctx: CaseContext, frame: WireMessage, first: Outcome): Promise<Outcome> {
  let outcome = first
  for (
    let attempt = 0;
    attempt < 40 && outcome.kind === 'error' && outcome.error.name === 'SETTLEMENT_PENDING';
    attempt++
  ) {
    await new Promise((resolve) => setTimeout(resolve, 250))
    outcome = await exchangeFrame(await ctx.open(), frame)
  }
  return outcome
}

/** Re-asks (new stream, same frame) while the answer is a retryable error, as a conforming client does (§4.4). */
export async function reaskWhileRetryable(ctx: CaseContext, frame: WireMessage, first: Outcome): Promise<Outcome> {
  let outcome = first
  for (let attempt = 0; attempt < 20 && outcome.kind === 'error' && outcome.error.retryable; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 250))
    outcome = await exchangeFrame(await ctx.open(), frame)
  }
  return outcome
}

/**
 * Checks a paid call's final RESPONSE: an x402 SettleResponse with success and a tx hash, and — with a public client
 * — the token `Transfer(payer, payTo, amount)` in that transaction's receipt.
 */
export async function expectSettled(
  ctx: CaseContext,
  outcome: Outcome,
  requirement: PaymentRequirements,
  payer: LocalAccount
): Promise<{ response: ResponseOutcome; settlement: SettleResponse }> {
  const response = expectResponse(outcome, 'paid call')
  const settlement = expectSettlement(response, requirement.network)
  if (ctx.publicClient != null) {
    await expectTransfer(ctx.publicClient, settlement.transaction as Hex, {
      token: requirement.asset as Hex,
      from: payer.address,
      to: requirement.payTo as Hex,
      amount: BigInt(requirement.amount)
    })
  }
  return { response, settlement }
}

/** A completed two-trip paid call. */
export interface SettledCall {
  challenge: Challenge
  payment: PaymentPayload
  /** The PAID_REQUEST exactly as sent (to re-ask or replay it). */
  paid: WireMessage
  response: ResponseOutcome
  settlement: SettleResponse
}

/**
 * A complete, correct two-trip paid call of the target's paid resource, checked end to end (and the payee's
 * balance, with a public client).
 */
export async function settledCall(ctx: CaseContext): Promise<SettledCall> {
  const target = ctx.target.paid
  const payee = await watchBalance(ctx.publicClient, target.asset.address, target.payTo)
  const challenge = await requestChallenge(ctx)
  const payment = await signChallenge(challenge, ctx.payer)
  const paid = paidRequest(challenge, payment)
  // A transfer slower to confirm than the server's confirmation timeout is answered SETTLEMENT_PENDING, which a client
  // re-asks (§4.4); any other error fails the call.
  const outcome = await reaskWhilePending(ctx, paid, await exchangeFrame(challenge.exchange, paid))
  const { response, settlement } = await expectSettled(ctx, outcome, challenge.requirement, ctx.payer)
  await payee.expect(target.amount, 'payee after a paid call')
  return { challenge, payment, paid, response, settlement }
}

/**
 * REQUEST → PAYMENT_REQUIRED → a PAID_REQUEST whose payment `build` makes from the challenge → ERROR `name`; and —
 * with a public client — neither the payer's nor the payee's balance moved.
 */
export async function expectRejectedPayment(
  ctx: CaseContext,
  name: ErrorCodeName,
  build: (challenge: Challenge) => Promise<PaymentPayload | Uint8Array>,
  payer: LocalAccount = ctx.payer
): Promise<Challenge> {
  const { asset, payTo } = ctx.target.paid
  const payerBalance = await watchBalance(ctx.publicClient, asset.address, payer.address)
  const payeeBalance = await watchBalance(ctx.publicClient, asset.address, payTo)
  const challenge = await requestChallenge(ctx)
  const outcome = await exchangeFrame(challenge.exchange, paidRequest(challenge, await build(challenge)))
  expectError(outcome, name)
  await payerBalance.expect(0n, `payer after ${name}`)
  await payeeBalance.expect(0n, `payee after ${name}`)
  return challenge
}
