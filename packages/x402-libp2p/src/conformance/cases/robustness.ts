import { type ConformanceCase, defineCase } from '../case.ts'
import type { CaseContext } from '../context.ts'
import { check } from '../errors.ts'
import type { EndResult, RawExchange } from '../exchange.ts'
import { varint } from '../protobuf.ts'
import { requestChallenge, settledCall } from '../steps.ts'

/** Slack on top of the frame timeout for the reset to reach us. */
const GRACE_MS = 2_000

/**
 * Waits for the server to cut the stream off within the frame timeout plus {@link GRACE_MS}; it may first say
 * INVALID_MESSAGE, nothing else.
 */
async function expectCutOff(ctx: CaseContext, exchange: RawExchange, what: string): Promise<EndResult> {
  const limit = ctx.limits.frameTimeoutMs + GRACE_MS
  const end = await exchange.waitForEnd(limit)
  check(
    end.ended,
    `${what}: the stream was still open after ${limit} ms (frame timeout ${ctx.limits.frameTimeoutMs} ms)`
  )
  for (const frame of end.frames) {
    check(
      frame.type === 'ERROR' && frame.error.name === 'INVALID_MESSAGE',
      `${what}: the server sent ${frame.type} ${frame.type === 'ERROR' ? frame.error.name : ''} before cutting off`
    )
  }
  return end
}

const silentPeer = defineCase(
  {
    id: 'robust.silent-peer',
    title: 'a stream on which the client sends nothing is cut off within the frame timeout',
    specRef: '§2'
  },
  async (ctx) => {
    await expectCutOff(ctx, await ctx.open(), 'silent peer')
  }
)

const partialFrame = defineCase(
  {
    id: 'robust.partial-frame',
    title: 'a frame whose body stops half-way is cut off within the frame timeout',
    specRef: '§2'
  },
  async (ctx) => {
    const exchange = await ctx.open()
    await exchange.sendRaw(Uint8Array.from([...varint(64), ...new Uint8Array(10)]))
    await expectCutOff(ctx, exchange, 'partial frame')
  }
)

const stallAfterChallenge = defineCase(
  {
    id: 'robust.stall-after-challenge',
    title: 'a client that goes silent after PAYMENT_REQUIRED is cut off within the frame timeout',
    specRef: '§2 (timeout reset per frame)'
  },
  async (ctx) => {
    const challenge = await requestChallenge(ctx)
    await expectCutOff(ctx, challenge.exchange, 'stalled after PAYMENT_REQUIRED')
  }
)

const stillAlive = defineCase(
  {
    id: 'robust.alive',
    title: 'after all of the above, a normal paid call still succeeds',
    specRef: '§2, §10 (resource exhaustion)'
  },
  async (ctx) => {
    await settledCall(ctx)
  }
)

/** Robustness cases, in run order (`robust.alive` last). */
export const robustnessCases: readonly ConformanceCase[] = [silentPeer, partialFrame, stallAfterChallenge, stillAlive]
