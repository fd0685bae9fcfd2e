import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { flipSignatureByte, signAuthorization } from '../authorization.ts'
import { type ConformanceCase, defineCase } from '../case.ts'
import { expectRejectedPayment, signChallenge } from '../steps.ts'

const HOUR = 3600n
const now = (): bigint => BigInt(Math.floor(Date.now() / 1000))

const tamperedSignature = defineCase(
  {
    id: 'error.invalid-signature.tampered',
    title: 'a correct payment with one byte of its signature flipped → INVALID_SIGNATURE',
    specRef: '§5 step 8e'
  },
  async (ctx) => {
    await expectRejectedPayment(ctx, 'INVALID_SIGNATURE', async (c) =>
      flipSignatureByte(await signChallenge(c, ctx.payer))
    )
  }
)

const wrongKey = defineCase(
  {
    id: 'error.invalid-signature.wrong-key',
    title: 'authorization claiming the payer as `from` but signed by another key → INVALID_SIGNATURE',
    specRef: '§5 step 8e'
  },
  async (ctx) => {
    const impostor = privateKeyToAccount(generatePrivateKey())
    await expectRejectedPayment(ctx, 'INVALID_SIGNATURE', (c) =>
      signAuthorization(impostor, c.requirement, c.nonce, { from: ctx.payer.address }, c.required.resource)
    )
  }
)

const windowTooLong = defineCase(
  {
    id: 'error.invalid-validity-window.too-long',
    title:
      'validBefore an hour beyond now + maxTimeoutSeconds (accepted verbatim, validly signed) → INVALID_VALIDITY_WINDOW',
    specRef: '§5 step 8c'
  },
  async (ctx) => {
    await expectRejectedPayment(ctx, 'INVALID_VALIDITY_WINDOW', (c) =>
      signAuthorization(
        ctx.payer,
        c.requirement,
        c.nonce,
        { validBefore: now() + BigInt(c.requirement.maxTimeoutSeconds) + HOUR },
        c.required.resource
      )
    )
  }
)

const windowNotYetValid = defineCase(
  {
    id: 'error.invalid-validity-window.not-yet-valid',
    title: 'validAfter an hour in the future → INVALID_VALIDITY_WINDOW',
    specRef: '§5 step 8c'
  },
  async (ctx) => {
    await expectRejectedPayment(ctx, 'INVALID_VALIDITY_WINDOW', (c) =>
      signAuthorization(ctx.payer, c.requirement, c.nonce, { validAfter: now() + HOUR }, c.required.resource)
    )
  }
)

const windowExpired = defineCase(
  {
    id: 'error.invalid-validity-window.expired',
    title: 'validBefore already in the past → INVALID_VALIDITY_WINDOW',
    specRef: '§5 step 8c'
  },
  async (ctx) => {
    await expectRejectedPayment(ctx, 'INVALID_VALIDITY_WINDOW', (c) =>
      signAuthorization(ctx.payer, c.requirement, c.nonce, { validBefore: now() - 60n }, c.required.resource)
    )
  }
)

const insufficientFunds = defineCase(
  {
    id: 'error.insufficient-funds',
    title: 'a correct payment from an account without token balance → INSUFFICIENT_FUNDS',
    specRef: '§5 step 8e'
  },
  async (ctx) => {
    const poor = ctx.poorPayer ?? ctx.skip('no poorPayer given (an account with no token balance)')
    await expectRejectedPayment(ctx, 'INSUFFICIENT_FUNDS', (c) => signChallenge(c, poor), poor)
  }
)

/** Signature, validity-window and balance cases, in run order. */
export const verificationCases: readonly ConformanceCase[] = [
  tamperedSignature,
  wrongKey,
  windowTooLong,
  windowNotYetValid,
  windowExpired,
  insufficientFunds
]
