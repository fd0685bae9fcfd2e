import type { BetarNode } from '@betar/node'
import type { Hono } from 'hono'
import { formatUnits } from 'viem'
import { z } from 'zod'
import { sendJson } from './json.ts'
import { validate } from './schemas.ts'

/** Query of `GET /sales`. Times are Unix ms. */
export const SalesQuerySchema = z.strictObject({
  agent: z.string().min(1).max(128).optional(),
  outcome: z.enum(['sold', 'refunded', 'failed']).optional(),
  since: z.coerce.number().int().nonnegative().optional(),
  until: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional()
})

/**
 * `GET /sales`: what this node sold as a seller, newest first (each paid call's outcome, from its datastore), and the
 * earnings per agent over the same period (`since`/`until`, every outcome counted whatever `limit`). Amounts are atomic
 * USDC units as decimal strings, with `amountUsdc`/`earnedUsdc` in decimal USDC.
 */
export function registerSalesRoutes(app: Hono, node: BetarNode): void {
  app.get('/sales', async (c) => {
    const q = validate(SalesQuerySchema, c.req.query())
    const period = {
      ...(q.agent != null ? { agent: q.agent } : {}),
      ...(q.since != null ? { since: q.since } : {}),
      ...(q.until != null ? { until: q.until } : {})
    }
    const [sales, earnings] = await Promise.all([
      node.sales.list({ ...period, ...(q.outcome != null ? { outcome: q.outcome } : {}), limit: q.limit ?? 100 }),
      node.sales.earnings(period)
    ])
    return sendJson(c, {
      sales: sales.map((s) => ({ ...s, amountUsdc: formatUnits(BigInt(s.amount), 6) })),
      earnings: earnings.map((e) => ({ ...e, earnedUsdc: formatUnits(BigInt(e.earned), 6) }))
    })
  })
}
