import { verifyListing } from '@betar/identity'
import type { BetarNode, SaleRecord } from '@betar/node'
import type { Hono } from 'hono'
import { formatUnits } from 'viem'
import { z } from 'zod'
import { ApiError } from './errors.ts'
import { sendJson } from './json.ts'
import { AgentIdSchema, validate } from './schemas.ts'

/** Query of `GET /sales/series`. Times are Unix ms. */
export const SalesSeriesQuerySchema = z.strictObject({
  agent: z.string().min(1).max(128).optional(),
  since: z.coerce.number().int().nonnegative().optional(),
  until: z.coerce.number().int().nonnegative().optional(),
  /** Bucket width: 1 s … 1 day. @default 60000 */
  bucket: z.coerce.number().int().min(1000).max(86_400_000).optional()
})

/** Most sales read for one series (newest first); older ones are left out and `truncated` says so. */
export const MAX_SERIES_SALES = 10_000
/** Most buckets per series: a wide period with a narrow bucket is refused (400) rather than answered with zeros. */
export const MAX_SERIES_BUCKETS = 2_000
/** How long a listing's verification verdict is kept (ms). */
export const VERIFICATION_TTL_MS = 60_000

/** One bucket of an agent's sales series. */
export interface SalesPoint {
  /** Start of the bucket, Unix ms. */
  at: number
  sold: number
  refunded: number
  failed: number
  /** Σ amount of `sold` calls in the bucket, atomic units. */
  earned: string
  /** Σ amount of `sold` calls since the start of the series, atomic units. */
  cumulative: string
}

/** An agent's sales over time, bucketed. */
export interface SalesSeries {
  agent: string
  points: SalesPoint[]
}

/**
 * Buckets `sales` (any order) per agent: one point per bucket that has a sale, oldest first, with the running total
 * of what was earned. Pure, for tests.
 */
export function salesSeries(sales: readonly SaleRecord[], bucketMs: number): SalesSeries[] {
  const byAgent = new Map<string, Map<number, { sold: number; refunded: number; failed: number; earned: bigint }>>()
  for (const sale of sales) {
    const at = Math.floor(sale.at / bucketMs) * bucketMs
    const buckets = byAgent.get(sale.agent) ?? new Map()
    byAgent.set(sale.agent, buckets)
    const bucket = buckets.get(at) ?? { sold: 0, refunded: 0, failed: 0, earned: 0n }
    buckets.set(at, bucket)
    bucket[sale.outcome] += 1
    if (sale.outcome === 'sold') bucket.earned += BigInt(sale.amount)
  }
  return [...byAgent]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([agent, buckets]) => {
      let cumulative = 0n
      const points = [...buckets]
        .sort(([a], [b]) => a - b)
        .map(([at, b]) => {
          cumulative += b.earned
          return {
            at,
            sold: b.sold,
            refunded: b.refunded,
            failed: b.failed,
            earned: b.earned.toString(),
            cumulative: cumulative.toString()
          }
        })
      return { agent, points }
    })
}

/** A listing's ERC-8004 verification as `GET /listings/{id}/verification` answers it. */
export interface ListingVerificationView {
  listingId: string
  /** `verified`: every check passed; `failed`: see `reasons`; `unregistered`: the listing claims no ERC-8004 agent. */
  status: 'verified' | 'failed' | 'unregistered'
  agentId: string | null
  reasons: Array<{ code: string; message: string }>
  /** Unix ms of the check (verdicts are kept for a minute). */
  checkedAt: number
}

/**
 * Registers the read routes the dashboard needs that the API lacked: `GET /sales/series` (earnings over time),
 * `GET /listings/{id}/verification` (a listing's ERC-8004 check, as a buyer runs it before paying),
 * `GET /reputation/{agentId}/feedback` (the score with every feedback behind it) and `GET /node/health` (uptime,
 * peers, the chain and each sold agent's health).
 */
export function registerDashboardRoutes(app: Hono, node: BetarNode, now: () => number = Date.now): void {
  const startedAt = now()
  const verdicts = new Map<string, { key: string; view: ListingVerificationView }>()

  app.get('/sales/series', async (c) => {
    const q = validate(SalesSeriesQuerySchema, c.req.query())
    const bucket = q.bucket ?? 60_000
    const until = q.until ?? now()
    if (q.since != null && (until - q.since) / bucket > MAX_SERIES_BUCKETS) {
      throw new ApiError(
        400,
        'ValidationError',
        `more than ${MAX_SERIES_BUCKETS} buckets: widen bucket or narrow since`
      )
    }
    const sales = await node.sales.list({
      ...(q.agent != null ? { agent: q.agent } : {}),
      ...(q.since != null ? { since: q.since } : {}),
      ...(q.until != null ? { until: q.until } : {}),
      limit: MAX_SERIES_SALES
    })
    const series = salesSeries(sales, bucket).map((s) => ({
      ...s,
      points: s.points.map((p) => ({
        ...p,
        earnedUsdc: formatUnits(BigInt(p.earned), 6),
        cumulativeUsdc: formatUnits(BigInt(p.cumulative), 6)
      }))
    }))
    return sendJson(c, { bucket, series, ...(sales.length === MAX_SERIES_SALES ? { truncated: true } : {}) })
  })

  app.get('/listings/:id/verification', async (c) => {
    const id = validate(z.string().min(1).max(256), c.req.param('id'))
    const listing = node.services.market.find({}).find((l) => l.id === id)
    if (listing == null) throw new ApiError(404, 'NotFound', `no listing ${JSON.stringify(id)} in the marketplace`)
    const key = JSON.stringify([listing.seller, listing.erc8004 ?? null, listing.price.payTo])
    const cached = verdicts.get(id)
    if (cached != null && cached.key === key && now() - cached.view.checkedAt < VERIFICATION_TTL_MS) {
      return sendJson(c, cached.view)
    }
    const result = await verifyListing(listing, {
      publicClient: node.clients.publicClient,
      identityRegistry: node.network.erc8004.identityRegistry,
      helia: node.helia,
      timeoutMs: 10_000
    })
    const unregistered = !result.ok && result.reasons.some((r) => r.code === 'NOT_REGISTERED')
    const view: ListingVerificationView = {
      listingId: id,
      status: result.ok ? 'verified' : unregistered ? 'unregistered' : 'failed',
      agentId: listing.erc8004?.agentId ?? null,
      reasons: result.ok ? [] : result.reasons.map(({ code, message }) => ({ code, message })),
      checkedAt: now()
    }
    if (verdicts.size > 1000) verdicts.clear()
    verdicts.set(id, { key, view })
    return sendJson(c, view)
  })

  app.get('/reputation/:agentId/feedback', async (c) => {
    const agentId = validate(AgentIdSchema, c.req.param('agentId'))
    const report = await node.reputation.report(agentId)
    return sendJson(c, { agentId: agentId.toString(), summary: report.summary, feedback: report.feedback })
  })

  app.get('/node/health', async (c) => {
    let chain: { ok: boolean; blockNumber: string | null; error?: string }
    try {
      const blockNumber = await node.clients.publicClient.getBlockNumber()
      chain = { ok: true, blockNumber: blockNumber.toString() }
    } catch {
      chain = { ok: false, blockNumber: null, error: 'the chain RPC did not answer' }
    }
    const peers = node.libp2p.getPeers()
    return sendJson(c, {
      ok: chain.ok,
      startedAt,
      uptimeMs: now() - startedAt,
      peerId: node.peerId,
      network: node.network.name,
      peers: peers.length,
      connections: node.libp2p.getConnections().length,
      listings: node.services.market.find({}).length,
      chain,
      agents: node.health.status(),
      memory: { rss: process.memoryUsage().rss }
    })
  })
}
