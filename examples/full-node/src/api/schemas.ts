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

/** Body of `POST /calls`. */
export const CallBodySchema = z.strictObject({
  capability: Capability,
  input: z.unknown().refine((v) => v !== undefined, 'input is required'),
  maxPrice: AmountSchema,
  rating: z.number().int().min(0).max(100).optional(),
  minScore: z.number().min(0).max(100).optional()
})

/** Path parameter of `GET /reputation/:agentId`. */
export const AgentIdSchema = z
  .string()
  .regex(/^\d{1,78}$/, 'expected a decimal agent id')
  .transform((v) => BigInt(v))

/** Path parameter of `GET /calls/:correlationId`. */
export const CorrelationIdSchema = z.string().min(1).max(128)

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
