import { JsonLimitError, parseBoundedJson } from '@betar/bounded-json'
import { FAUCET_MAX_USDC, FAUCET_MAX_WEI, parseDecimalAmount } from '@betar/devnet'
import type { Context } from 'hono'
import { z } from 'zod'
import { bodyText } from './body-limit.ts'
import { ApiError } from './errors.ts'
import { AtomicSchema, UsdcSchema } from './price.ts'

const Capability = z.string().min(1).max(128)

/** Query of `GET /listings`: `maxPrice` in decimal USDC (`0.25`) or `maxPriceAtomic` in atomic units, not both. */
export const ListingsQuerySchema = z
  .strictObject({
    capability: Capability.optional(),
    maxPrice: UsdcSchema.optional(),
    maxPriceAtomic: AtomicSchema.optional(),
    text: z.string().min(1).max(256).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional()
  })
  .superRefine(notBothPrices)

/** Body of `POST /discover`. */
export const DiscoverBodySchema = z.strictObject({ capability: Capability })

/** An x402 correlation id (1–64 of `[A-Za-z0-9_-]`). */
export const CorrelationIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1–64 of [A-Za-z0-9_-]')

/**
 * Body of `POST /calls`: a new purchase (`capability`, `input`, and `maxPrice` in decimal USDC like the CLI's
 * `--max-price` — or `maxPriceAtomic` in atomic units — optionally with the `correlationId` to name it), or
 * `{ correlationId }` alone to resume a paid call from the journal.
 */
export const CallBodySchema = z
  .strictObject({
    capability: Capability.optional(),
    input: z.unknown().optional(),
    maxPrice: UsdcSchema.optional(),
    maxPriceAtomic: AtomicSchema.optional(),
    rating: z.number().int().min(0).max(100).optional(),
    minScore: z.number().min(0).max(100).optional(),
    feedbackStorage: z.enum(['data-uri', 'node']).optional(),
    correlationId: CorrelationIdSchema.optional()
  })
  .superRefine((body, ctx) => {
    notBothPrices(body, ctx)
    if (body.capability == null && body.correlationId != null) return
    for (const field of ['capability', 'input'] as const) {
      if (body[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `${field} is required` })
    }
    if (body.maxPrice === undefined && body.maxPriceAtomic === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxPrice'],
        message: 'maxPrice (decimal USDC, e.g. "0.25") or maxPriceAtomic (atomic units) is required'
      })
    }
  })

/** Refuses a price given twice (decimal USDC and atomic units). */
function notBothPrices(body: { maxPrice?: unknown; maxPriceAtomic?: unknown }, ctx: z.RefinementCtx): void {
  if (body.maxPrice !== undefined && body.maxPriceAtomic !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['maxPriceAtomic'], message: 'give maxPrice or maxPriceAtomic, not both' })
  }
}

/** Query of `GET /calls`. */
export const CallsQuerySchema = z.strictObject({
  state: z.enum(['prepared', 'sent', 'done', 'refunded', 'failed']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  before: z.coerce.number().int().nonnegative().optional()
})

/** Path parameter of `GET /reputation/:agentId`. */
export const AgentIdSchema = z
  .string()
  .regex(/^\d{1,78}$/, 'expected a decimal agent id')
  .transform((v) => BigInt(v))

/** Validates `value` or throws a 400 {@link ApiError} listing the zod issues. */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value)
  if (!parsed.success) {
    throw new ApiError(400, 'ValidationError', z.prettifyError(parsed.error), { issues: parsed.error.issues })
  }
  return parsed.data
}

/**
 * Deepest nesting of arrays and objects in a request body. The body is checked before it is parsed: a `POST /calls`
 * `input` nested 5,000 deep (10 KB, under the 64 KiB cap) made `JSON.stringify` throw inside the purchase (issue 13).
 */
export const MAX_BODY_DEPTH = 64

/** Reads and validates a JSON body: 400 when it is not JSON, nests too deep or does not match. */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  let value: unknown
  try {
    value = parseBoundedJson(await bodyText(c), { maxDepth: MAX_BODY_DEPTH })
  } catch (err) {
    if (err instanceof JsonLimitError && err.reason === 'depth') {
      throw new ApiError(400, 'InvalidJson', `request body nests more than ${MAX_BODY_DEPTH} levels deep`)
    }
    throw new ApiError(400, 'InvalidJson', 'request body is not valid JSON')
  }
  return validate(schema, value)
}

/**
 * Body of `POST /faucet` (devnet only): who to fund (default: the node's wallet), USDC in decimal (at most 1,000,000,
 * default 100) and ETH in decimal (at most 1,000, default 1).
 */
export const FaucetBodySchema = z.strictObject({
  address: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 0x address')
    .optional(),
  usdc: UsdcSchema.refine((v) => v <= FAUCET_MAX_USDC, 'at most 1000000 USDC').optional(),
  eth: z
    .string({ error: 'expected decimal ETH as a string, e.g. "0.5"' })
    .regex(/^\d{1,6}(\.\d{1,18})?$/, 'expected decimal ETH with at most 18 decimals, e.g. "0.5"')
    .transform((v) => parseDecimalAmount(v, 18, 'eth'))
    .refine((v) => v <= FAUCET_MAX_WEI, 'at most 1000 ETH')
    .optional()
})
