import type { Hono } from 'hono'
import { buyService } from '../buyer.ts'
import type { BetarNode } from '../node.ts'
import { type CallStore, toCallRecord } from './calls.ts'
import { ApiError } from './errors.ts'
import { sendJson } from './json.ts'
import {
  CallBodySchema,
  CorrelationIdSchema,
  DiscoverBodySchema,
  jsonBody,
  ListingsQuerySchema,
  validate
} from './schemas.ts'

/** Registers the market routes: `/listings`, `/discover`, `/calls`, `/calls/:correlationId`. */
export function registerMarketRoutes(app: Hono, node: BetarNode, calls: CallStore): void {
  const market = node.services.market

  app.get('/listings', (c) => {
    const q = validate(ListingsQuerySchema, c.req.query())
    const listings = market.find({
      ...(q.capability != null ? { capability: q.capability } : {}),
      ...(q.maxPrice != null ? { maxPrice: q.maxPrice } : {}),
      ...(q.text != null ? { text: q.text } : {}),
      ...(q.limit != null ? { limit: q.limit } : {})
    })
    return sendJson(c, { listings })
  })

  app.post('/discover', async (c) => {
    const { capability } = await jsonBody(c, DiscoverBodySchema)
    const listings = await market.findSellers(capability)
    return sendJson(c, { listings: listings.filter((l) => l.seller !== node.peerId) })
  })

  app.post('/calls', async (c) => {
    const body = await jsonBody(c, CallBodySchema)
    const purchase = await buyService(node, body.capability, body.input, {
      maxPrice: body.maxPrice,
      ...(body.rating != null ? { rating: body.rating } : {}),
      ...(body.minScore != null ? { minScore: body.minScore } : {})
    })
    const record = toCallRecord(body.capability, purchase)
    calls.add(record)
    return sendJson(c, record, 201)
  })

  app.get('/calls/:correlationId', (c) => {
    const id = validate(CorrelationIdSchema, c.req.param('correlationId'))
    const record = calls.get(id)
    if (record == null) throw new ApiError(404, 'NotFound', `no call ${JSON.stringify(id)} is known`)
    return sendJson(c, record)
  })
}
