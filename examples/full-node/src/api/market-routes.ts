import type { LegacyListing } from '@betar/marketplace-crdt/legacy'
import { type BetarNode, buyService, connectedPeers, NO_PEERS_HINT, type Purchase, resumePurchase } from '@betar/node'
import type { Hono } from 'hono'
import { callView, listingView } from './calls.ts'
import { ApiError, toHttpError } from './errors.ts'
import { sendJson } from './json.ts'
import { capOf, usdcString } from './price.ts'
import {
  CallBodySchema,
  CallsQuerySchema,
  CorrelationIdSchema,
  DiscoverBodySchema,
  jsonBody,
  ListingsQuerySchema,
  validate
} from './schemas.ts'

/** A Go listing as the API shows it: `legacy: true`, `verified: false`, and its price in decimal USDC. */
function legacyView(listing: LegacyListing): LegacyListing & { priceUsdc: string } {
  return { ...listing, priceUsdc: usdcString(listing.priceAtomic.toString()) }
}

/** Registers the market routes: `/listings`, `/discover`, `/calls`, `/calls/:correlationId`. */
export function registerMarketRoutes(app: Hono, node: BetarNode): void {
  const market = node.services.market

  app.get('/listings', (c) => {
    const q = validate(ListingsQuerySchema, c.req.query())
    const maxPrice = capOf(q)
    const listings = market.find({
      ...(q.capability != null ? { capability: q.capability } : {}),
      ...(maxPrice != null ? { maxPrice } : {}),
      ...(q.text != null ? { text: q.text } : {}),
      ...(q.limit != null ? { limit: q.limit } : {})
    })
    // With the Go bridge on, Go listings come apart from the signed ones: unverified, and without capabilities.
    const legacy =
      node.services.legacy != null && q.capability == null
        ? node.services.legacy.list({
            ...(maxPrice != null ? { maxPrice } : {}),
            ...(q.text != null ? { text: q.text } : {}),
            ...(q.limit != null ? { limit: q.limit } : {})
          })
        : undefined
    return sendJson(c, {
      listings: listings.map(listingView),
      ...(legacy != null ? { legacy: legacy.map(legacyView) } : {})
    })
  })

  app.post('/discover', async (c) => {
    const { capability } = await jsonBody(c, DiscoverBodySchema)
    // With no connection there is no one to ask: say so, and how to fix it, instead of an unexplained `[]`.
    const alone = connectedPeers(node) === 0
    const listings = alone ? market.find({ capability }) : await market.findSellers(capability)
    return sendJson(c, {
      listings: listings.filter((l) => l.seller !== node.peerId).map(listingView),
      ...(alone ? { connectedPeers: 0, warnings: [NO_PEERS_HINT] } : {})
    })
  })

  app.post('/calls', async (c) => {
    const body = await jsonBody(c, CallBodySchema)
    // Chosen before anything is signed, so every answer — even an error — names the call to resume.
    const correlationId = body.correlationId ?? crypto.randomUUID()
    let purchase: Purchase
    try {
      const maxPrice = capOf(body)
      if (body.capability == null || maxPrice == null) {
        purchase = await resumePurchase(node, correlationId)
      } else {
        purchase = await buyService(node, body.capability, body.input, {
          maxPrice,
          correlationId,
          ...(body.rating != null ? { rating: body.rating } : {}),
          ...(body.minScore != null ? { minScore: body.minScore } : {}),
          ...(body.feedbackStorage != null ? { feedbackStorage: body.feedbackStorage } : {})
        })
      }
    } catch (err) {
      const { status, body: error } = toHttpError(err)
      return sendJson(c, { error: { ...error.error, correlationId } }, status)
    }
    const entry = await node.journal.get(correlationId)
    if (entry == null) throw new ApiError(500, 'JournalError', `call ${correlationId} is missing from the journal`)
    const view = callView(entry, purchase.feedback)
    return sendJson(c, { ...view, warnings: purchase.warnings }, purchase.resumed ? 200 : 201)
  })

  app.get('/calls', async (c) => {
    const q = validate(CallsQuerySchema, c.req.query())
    const limit = q.limit ?? 100
    const entries = await node.journal.list({
      limit,
      ...(q.state != null ? { states: [q.state] } : {}),
      ...(q.before != null ? { before: q.before } : {})
    })
    const calls = await Promise.all(entries.map(async (e) => callView(e, await node.feedback.get(e.correlationId))))
    const last = entries[entries.length - 1]
    return sendJson(c, { calls, ...(entries.length === limit && last != null ? { next: last.createdAt } : {}) })
  })

  app.get('/calls/:correlationId', async (c) => {
    const id = validate(CorrelationIdSchema, c.req.param('correlationId'))
    const entry = await node.journal.get(id)
    if (entry == null) throw new ApiError(404, 'NotFound', `no call ${JSON.stringify(id)} in this node's journal`)
    return sendJson(c, callView(entry, await node.feedback.get(id)))
  })
}
