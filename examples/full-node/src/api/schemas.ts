import type { Context } from 'hono'
import { z } from 'zod'
import { ApiError } from './errors.ts'

/** An atomic USDC amount: a non-negative integer, as a decimal string or a safe JSON integer. */
export const AmountSchema = z
  .union([z.string().regex(/^\d{1,30}$/, 'expected a non-negative integer'), z.number().int().nonnegative()])
  .transform((v) => BigInt(v))

const Capability = z.string().min(1).max(128)

/** Query of `GET /listings`. */
export const ListingsQuerySchema = z.strictObject({
  capability: Capability.optional(),
  maxPrice: AmountSchema.optional(),
  text: z.string().min(1).max(256).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional()
})

/** Body of `POST /discover`. */
export const DiscoverBodySchema = z.strictObject({ capability: Capability })

/** An x402 correlation id (1–64 of `[A-Za-z0-9_-]`). */
export const CorrelationIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1–64 of [A-Za-z0-9_-]')

/**
 * Body of `POST /calls`: a new purchase (`capability`, `input`, `maxPrice`, optionally with the `correlationId` to
 * name it), or `{ correlationId }` alone to resume a paid call from the journal.
 */
export const CallBodySchema = z
  .strictObject({
    capability: Capability.optional(),
    input: z.unknown().optional(),
    maxPrice: AmountSchema.optional(),
    rating: z.number().int().min(0).max(100).optional(),
    minScore: z.number().min(0).max(100).optional(),
    feedbackStorage: z.enum(['data-uri', 'node']).optional(),
    correlationId: CorrelationIdSchema.optional()
  })
  .superRefine((body, ctx) => {
    if (body.capability == null && body.correlationId != null) return
    for (const field of ['capability', 'input', 'maxPrice'] as const) {
      if (body[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `${field} is required` })
    }
  })

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

/** Reads and validates a JSON body: 400 when it is not JSON or does not match. */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  let value: unknown
  try {
    value = JSON.parse(await c.req.text())
  } catch {
    throw new ApiError(400, 'InvalidJson', 'request body is not valid JSON')
  }
  return validate(schema, value)
}
