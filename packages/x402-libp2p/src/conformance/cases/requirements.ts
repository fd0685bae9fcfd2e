import type { PaymentRequirements } from '@x402/core/types'
import { type Address, getAddress, toHex } from 'viem'
import { signExactPayment } from '../../client/sign.ts'
import { jsonBytes } from '../../json.ts'
import { randomNonce, signAuthorization } from '../authorization.ts'
import { type ConformanceCase, defineCase } from '../case.ts'
import type { CaseContext } from '../context.ts'
import { expectError } from '../expect.ts'
import { exchangeFrame, expectRejectedPayment, paidRequest, requestChallenge } from '../steps.ts'

const utf8 = new TextEncoder()

/** An address nobody controls. */
function randomAddress(): Address {
  return getAddress(toHex(crypto.getRandomValues(new Uint8Array(20))))
}

/** An amount other than the price: one unit less (a buyer underpaying), or more when the price is 1. */
function otherAmount(amount: string): bigint {
  const a = BigInt(amount)
  return a > 1n ? a - 1n : a + 1n
}

/** A preemptive PAID_REQUEST (fresh correlation id) carrying raw `payment` bytes; expects ERROR `PAYMENT_INVALID`. */
async function expectPaymentInvalid(ctx: CaseContext, payment: Uint8Array): Promise<void> {
  const correlationId = ctx.correlationId()
  const call = { correlationId, resource: ctx.target.paid.resource, body: ctx.body(correlationId) }
  expectError(await exchangeFrame(await ctx.open(), paidRequest(call, payment)), 'PAYMENT_INVALID')
}

const unknownResource = defineCase(
  {
    id: 'error.unknown-resource',
    title: 'REQUEST for a resource the server does not have → UNKNOWN_RESOURCE',
    specRef: '§5 step 3'
  },
  async (ctx) => {
    const correlationId = ctx.correlationId()
    const exchange = await ctx.open()
    const outcome = await exchangeFrame(exchange, {
      type: 'REQUEST',
      correlationId,
      request: { resource: `conformance-missing-${correlationId}`, body: new Uint8Array(), contentType: '' }
    })
    expectError(outcome, 'UNKNOWN_RESOURCE')
  }
)

const unknownResourcePaid = defineCase(
  {
    id: 'error.unknown-resource.paid',
    title: 'PAID_REQUEST for an unknown resource (with an unparsable payment) → UNKNOWN_RESOURCE before the payment',
    specRef: '§5 steps 3, 5'
  },
  async (ctx) => {
    const correlationId = ctx.correlationId()
    const call = { correlationId, resource: `conformance-missing-${correlationId}`, body: new Uint8Array() }
    expectError(await exchangeFrame(await ctx.open(), paidRequest(call, utf8.encode('{}'))), 'UNKNOWN_RESOURCE')
  }
)

const paymentNotJson = defineCase(
  { id: 'error.payment-invalid.not-json', title: 'payment that is not JSON → PAYMENT_INVALID', specRef: '§5 step 5' },
  (ctx) => expectPaymentInvalid(ctx, utf8.encode('this is not json'))
)

const paymentNotX402 = defineCase(
  {
    id: 'error.payment-invalid.not-x402',
    title: 'payment JSON that is not an x402 PaymentPayload → PAYMENT_INVALID',
    specRef: '§5 step 5'
  },
  (ctx) => expectPaymentInvalid(ctx, jsonBytes({ hello: 'world', amount: '1' }))
)

const paymentVersion = defineCase(
  {
    id: 'error.payment-invalid.version',
    title: 'a signed payload with x402Version 1 → PAYMENT_INVALID',
    specRef: '§5 step 5'
  },
  async (ctx) => {
    const challenge = await requestChallenge(ctx)
    challenge.exchange.abort()
    const payload = await signExactPayment(ctx.payer, challenge.requirement, randomNonce())
    await expectPaymentInvalid(ctx, jsonBytes({ ...payload, x402Version: 1 }))
  }
)

const paymentScheme = defineCase(
  {
    id: 'error.payment-invalid.scheme',
    title: 'a signed payload whose accepted.scheme is not "exact" → PAYMENT_INVALID',
    specRef: '§5 step 5'
  },
  async (ctx) => {
    const challenge = await requestChallenge(ctx)
    challenge.exchange.abort()
    const payload = await signExactPayment(ctx.payer, challenge.requirement, randomNonce())
    await expectPaymentInvalid(ctx, jsonBytes({ ...payload, accepted: { ...payload.accepted, scheme: 'upto' } }))
  }
)

/** A case whose `accepted` differs from the offer in one field, signed consistently with the altered requirement. */
function acceptedCase(
  id: string,
  title: string,
  name: 'NETWORK_WRONG' | 'ASSET_WRONG' | 'PAYEE_WRONG' | 'AMOUNT_WRONG',
  alter: (r: PaymentRequirements) => Partial<PaymentRequirements>
): ConformanceCase {
  return defineCase({ id, title, specRef: '§5 step 6' }, async (ctx) => {
    await expectRejectedPayment(ctx, name, (c) => {
      const accepted = { ...c.requirement, ...alter(c.requirement) }
      return signAuthorization(ctx.payer, accepted, c.nonce, {}, c.required.resource)
    })
  })
}

const networkWrong = acceptedCase(
  'error.network-wrong',
  'accepted.network changed to another chain → NETWORK_WRONG',
  'NETWORK_WRONG',
  (r) => ({ network: `eip155:${Number(r.network.split(':')[1]) + 1}` })
)

const assetWrong = acceptedCase(
  'error.asset-wrong',
  'accepted.asset changed to another token address → ASSET_WRONG',
  'ASSET_WRONG',
  () => ({ asset: randomAddress() })
)

const payeeWrongAccepted = acceptedCase(
  'error.payee-wrong.accepted',
  'accepted.payTo (and the authorization) changed to another address → PAYEE_WRONG',
  'PAYEE_WRONG',
  () => ({ payTo: randomAddress() })
)

const amountWrongAccepted = acceptedCase(
  'error.amount-wrong.accepted',
  'accepted.amount (and the authorization value) changed → AMOUNT_WRONG',
  'AMOUNT_WRONG',
  (r) => ({ amount: otherAmount(r.amount).toString() })
)

const payeeWrongAuthorization = defineCase(
  {
    id: 'error.payee-wrong.authorization',
    title: 'accepted verbatim but authorization.to is another address (validly signed) → PAYEE_WRONG',
    specRef: '§5 step 7'
  },
  (ctx) =>
    expectRejectedPayment(ctx, 'PAYEE_WRONG', (c) =>
      signAuthorization(ctx.payer, c.requirement, c.nonce, { to: randomAddress() }, c.required.resource)
    ).then(() => {})
)

const amountWrongAuthorization = defineCase(
  {
    id: 'error.amount-wrong.authorization',
    title: 'accepted verbatim but authorization.value ≠ amount (validly signed) → AMOUNT_WRONG',
    specRef: '§5 step 7'
  },
  (ctx) =>
    expectRejectedPayment(ctx, 'AMOUNT_WRONG', (c) =>
      signAuthorization(
        ctx.payer,
        c.requirement,
        c.nonce,
        { value: otherAmount(c.requirement.amount) },
        c.required.resource
      )
    ).then(() => {})
)

/** Resource, payload and requirement-matching cases, in run order. */
export const requirementCases: readonly ConformanceCase[] = [
  unknownResource,
  unknownResourcePaid,
  paymentNotJson,
  paymentNotX402,
  paymentVersion,
  paymentScheme,
  networkWrong,
  assetWrong,
  payeeWrongAccepted,
  amountWrongAccepted,
  payeeWrongAuthorization,
  amountWrongAuthorization
]
