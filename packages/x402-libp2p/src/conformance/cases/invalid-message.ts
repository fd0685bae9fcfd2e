import { jsonBytes } from '../../json.ts'
import { type ConformanceCase, defineCase } from '../case.ts'
import type { CaseContext } from '../context.ts'
import { check } from '../errors.ts'
import type { RawExchange } from '../exchange.ts'
import { expectError } from '../expect.ts'
import { readOutcome } from '../outcome.ts'
import { Fields, GARBAGE, rawFinalResponse, rawMessage, rawRequest, varint } from '../protobuf.ts'
import { requestChallenge } from '../steps.ts'

/** Opens a stream, lets `send` write something malformed, and expects ERROR INVALID_MESSAGE (spec §5 step 1). */
async function expectInvalidMessage(
  ctx: CaseContext,
  send: (exchange: RawExchange, correlationId: string) => Promise<void>
): Promise<void> {
  const exchange = await ctx.open()
  await send(exchange, ctx.correlationId())
  expectError(await readOutcome(exchange), 'INVALID_MESSAGE')
}

const garbageFrame = defineCase(
  {
    id: 'error.invalid-message.garbage',
    title: 'a frame of bytes that are not protobuf → INVALID_MESSAGE',
    specRef: '§2, §5 step 1'
  },
  (ctx) => expectInvalidMessage(ctx, (exchange) => exchange.sendFrame(GARBAGE))
)

const unknownType = defineCase(
  {
    id: 'error.invalid-message.unknown-type',
    title: 'valid protobuf with an unknown message type (7, reserved) → INVALID_MESSAGE, no crash',
    specRef: '§3'
  },
  (ctx) =>
    expectInvalidMessage(ctx, (exchange, correlationId) =>
      exchange.sendFrame(
        rawMessage(7, correlationId, {
          field: Fields.message.request,
          bytes: rawRequest(ctx.target.paid.resource)
        })
      )
    )
)

const typeMismatch = defineCase(
  {
    id: 'error.invalid-message.type-mismatch',
    title: 'a REQUEST frame whose payload is a Response → INVALID_MESSAGE',
    specRef: '§3'
  },
  (ctx) =>
    expectInvalidMessage(ctx, (exchange, correlationId) =>
      exchange.sendFrame(
        rawMessage(1, correlationId, { field: Fields.message.response, bytes: rawFinalResponse(new Uint8Array(1)) })
      )
    )
)

const badCorrelationId = defineCase(
  {
    id: 'error.invalid-message.correlation-id',
    title: 'correlation ids with characters outside [A-Za-z0-9_-], or longer than 64 → INVALID_MESSAGE',
    specRef: '§3'
  },
  async (ctx) => {
    for (const correlationId of ['bad id!', 'x'.repeat(65)]) {
      await expectInvalidMessage(ctx, (exchange) =>
        exchange.send({
          type: 'REQUEST',
          correlationId,
          request: { resource: ctx.target.paid.resource, body: new Uint8Array(), contentType: '' }
        })
      )
    }
  }
)

const serverFrameFirst = defineCase(
  {
    id: 'error.invalid-message.payment-required-first',
    title: 'the client opens with a PAYMENT_REQUIRED frame → INVALID_MESSAGE',
    specRef: '§4, §8 (out-of-order frame)'
  },
  (ctx) =>
    expectInvalidMessage(ctx, (exchange, correlationId) =>
      exchange.send({
        type: 'PAYMENT_REQUIRED',
        correlationId,
        paymentRequired: {
          paymentRequired: jsonBytes({ x402Version: 2, resource: { url: 'libp2p://x/y' }, accepts: [] }),
          challenge: crypto.getRandomValues(new Uint8Array(32)),
          expiresAt: BigInt(Math.floor(Date.now() / 1000) + 60)
        }
      })
    )
)

const requestWithPayment = defineCase(
  {
    id: 'error.invalid-message.request-with-payment',
    title: 'a REQUEST carrying a payment → INVALID_MESSAGE',
    specRef: '§3 (payment is PAID_REQUEST only)'
  },
  (ctx) =>
    expectInvalidMessage(ctx, (exchange, correlationId) =>
      exchange.send({
        type: 'REQUEST',
        correlationId,
        request: {
          resource: ctx.target.paid.resource,
          body: new Uint8Array(),
          contentType: '',
          payment: jsonBytes({ x402Version: 2 })
        }
      })
    )
)

const outOfOrder = defineCase(
  {
    id: 'error.invalid-message.out-of-order',
    title: 'a second REQUEST (instead of PAID_REQUEST) after PAYMENT_REQUIRED → INVALID_MESSAGE',
    specRef: '§4.2, §8 (out-of-order frame)'
  },
  async (ctx) => {
    const challenge = await requestChallenge(ctx)
    await challenge.exchange.send({
      type: 'REQUEST',
      correlationId: challenge.correlationId,
      request: { resource: challenge.resource, body: challenge.body, contentType: '' }
    })
    expectError(await readOutcome(challenge.exchange), 'INVALID_MESSAGE')
  }
)

/** How many malformed frames {@link invalidMessageDelivered} sends. */
const DELIVERY_ATTEMPTS = 400

const invalidMessageDelivered = defineCase(
  {
    id: 'error.invalid-message.delivered',
    title:
      `${DELIVERY_ATTEMPTS} garbage frames on as many streams → every one answered INVALID_MESSAGE (the ERROR frame ` +
      'must not be lost to the stream reset that follows it)',
    specRef: '§5 step 1 ("answer the first failure with its own code")'
  },
  async (ctx) => {
    for (let i = 0; i < DELIVERY_ATTEMPTS; i++) {
      const exchange = await ctx.open()
      await exchange.sendFrame(GARBAGE)
      expectError(await readOutcome(exchange), 'INVALID_MESSAGE', `attempt ${i + 1} of ${DELIVERY_ATTEMPTS}`)
      exchange.abort()
    }
  }
)

const oversizedFrame = defineCase(
  {
    id: 'error.invalid-message.oversized',
    title:
      'a length prefix over maxMessageSize (no body follows) → the stream is aborted or answered INVALID_MESSAGE ' +
      'at once, without waiting for the body',
    specRef: '§2'
  },
  async (ctx) => {
    const { maxMessageSize, frameTimeoutMs } = ctx.limits
    // Reading the body would hold the stream until the frame timeout; rejecting the length ends it about at once.
    const promptMs = Math.max(250, Math.min(frameTimeoutMs / 2, 2_000))
    const exchange = await ctx.open()
    await exchange.sendRaw(varint(maxMessageSize + 1))
    const end = await exchange.waitForEnd(promptMs)
    check(end.ended, `the stream was still open ${promptMs} ms after a ${maxMessageSize + 1}-byte length prefix`)
    for (const frame of end.frames) {
      check(
        frame.type === 'ERROR' && frame.error.name === 'INVALID_MESSAGE' && frame.error.code === 1000,
        `the server answered an oversized frame with ${frame.type} ${frame.type === 'ERROR' ? frame.error.name : ''}`
      )
    }
  }
)

/** Malformed-frame cases, in run order. */
export const invalidMessageCases: readonly ConformanceCase[] = [
  garbageFrame,
  unknownType,
  typeMismatch,
  badCorrelationId,
  serverFrameFirst,
  requestWithPayment,
  outOfOrder,
  invalidMessageDelivered,
  oversizedFrame
]
