import { request as httpRequest } from 'node:http'
import type { Devnet } from '@betar/devnet'
import { analyzeText } from '@betar/executor'
import { type BetarNode, type SoldAgent, sellAgent } from '@betar/node'
import { STARRED_TAG } from '@betar/reputation'
import type { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nodeOn, publishForgedPayeeListing, startDevnet, textStatsAgent } from '../../../packages/node/test/fixtures.ts'
import { type CallView, createApi, createApiToken, type RunningApi, startApi } from '../src/api/index.ts'

const PRICE = 250_000n
const TEXT = 'The local API lets apps buy agent work. Calls pay in USDC and settle on-chain.'
const APP_ORIGIN = 'http://localhost:5173'

describe('local REST API on a real node (devnet + loopback HTTP)', () => {
  let devnet: Devnet
  let seller: BetarNode
  let buyer: BetarNode
  let sold: SoldAgent
  let app: Hono
  let api: RunningApi
  let sellerApi: RunningApi
  const token = createApiToken()

  /** Fetches `path` on the buyer's API with the token (unless `auth: false`). */
  const call = (path: string, init: RequestInit & { auth?: boolean; base?: string } = {}) => {
    const headers = new Headers(init.headers)
    if (init.auth !== false && !headers.has('authorization')) headers.set('authorization', `Bearer ${token}`)
    if (init.body != null && !headers.has('content-type')) headers.set('content-type', 'application/json')
    return fetch(`${init.base ?? api.url}${path}`, { ...init, headers })
  }
  const post = (path: string, body: unknown) => call(path, { method: 'POST', body: JSON.stringify(body) })

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 2 })
    seller = await nodeOn(devnet, 0)
    buyer = await nodeOn(devnet, 1, { bootstrap: seller.multiaddrs().map(String) })
    sold = await sellAgent(seller, textStatsAgent)
    app = createApi(buyer, { token, allowedOrigins: [APP_ORIGIN] })
    api = await startApi(app)
    sellerApi = await startApi(createApi(seller, { token, agents: new Map([[sold.resource, sold]]) }))
  }, 60_000)

  afterAll(async () => {
    await api?.close()
    await sellerApi?.close()
    await buyer?.stop()
    await seller?.stop()
    await devnet?.stop()
  })

  it('listens on loopback', () => {
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  })

  it('GET /health needs no token', async () => {
    const res = await call('/health', { auth: false })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ ok: true })
  })

  it('GET /status', async () => {
    const res = await call('/status')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      peerId: buyer.peerId,
      multiaddrs: buyer.multiaddrs().map(String),
      network: {
        name: devnet.network.name,
        chainId: devnet.network.chainId,
        caip2: devnet.network.caip2,
        usdc: devnet.network.usdc.address
      },
      wallet: buyer.wallet.address
    })
  })

  it('GET /peers lists the connected seller', async () => {
    const body = (await (await call('/peers')).json()) as { peers: Array<{ peerId: string; connections: unknown[] }> }
    const peer = body.peers.find((p) => p.peerId === seller.peerId)
    expect(peer?.connections.length).toBeGreaterThan(0)
  })

  it('GET /agents lists the local agents (bigints as strings)', async () => {
    expect(await (await call('/agents')).json()).toEqual({ agents: [] })
    const body = (await (await call('/agents', { base: sellerApi.url })).json()) as {
      agents: Array<{ name: string; info: { registration: { agentId: string }; listing: { seller: string } } }>
    }
    expect(body.agents).toHaveLength(1)
    expect(body.agents[0]).toMatchObject({
      name: 'text-stats',
      info: { registration: { agentId: sold.registration.agentId.toString() }, listing: { seller: seller.peerId } }
    })
  })

  it('POST /discover finds the seller through the DHT', async () => {
    const res = await post('/discover', { capability: 'text-analysis' })
    expect(res.status).toBe(200)
    const { listings } = (await res.json()) as { listings: Array<{ seller: string; resource: string }> }
    expect(listings).toContainEqual(expect.objectContaining({ seller: seller.peerId, resource: 'text-stats' }))
  }, 30_000)

  it('GET /listings filters the known listings', async () => {
    const find = async (query: string) =>
      ((await (await call(`/listings?${query}`)).json()) as { listings: Array<{ seller: string; id: string }> })
        .listings
    expect(await find('capability=text-analysis&maxPrice=0.25')).toContainEqual(
      expect.objectContaining({ seller: seller.peerId, id: 'text-stats' })
    )
    expect(await find('capability=text-analysis&maxPrice=0.249999')).toEqual([])
    expect(await find('text=COUNTS%20WORDS&limit=1')).toHaveLength(1)
    expect(await find('capability=nothing-like-this')).toEqual([])
  })

  let paid: CallView

  it('POST /calls pays on-chain and returns the output, settlement and feedback', async () => {
    const buyerBefore = await buyer.usdcBalance()
    const sellerBefore = await seller.usdcBalance()
    const res = await post('/calls', { capability: 'text-analysis', input: TEXT, maxPrice: '0.25' })
    expect(res.status).toBe(201)
    paid = (await res.json()) as CallView
    expect(paid).toMatchObject({
      capability: 'text-analysis',
      amountUsdc: '0.25',
      amountAtomic: PRICE.toString(),
      amount: PRICE.toString(),
      output: analyzeText(TEXT),
      listing: { seller: seller.peerId, resource: 'text-stats', agentId: sold.registration.agentId.toString() },
      state: 'done',
      charged: true,
      settlement: { network: devnet.network.caip2, payer: buyer.wallet.address, check: 'verified' },
      feedback: { state: 'given', feedbackIndex: '1' },
      warnings: []
    })
    const { publicClient } = buyer.clients
    const settlement = await publicClient.getTransactionReceipt({ hash: paid.settlement!.transaction as `0x${string}` })
    expect(settlement.status).toBe('success')
    const feedback = await publicClient.getTransactionReceipt({ hash: paid.feedback.transaction as `0x${string}` })
    expect(feedback.status).toBe('success')
    expect(await buyer.usdcBalance()).toBe(buyerBefore - PRICE)
    expect(await seller.usdcBalance()).toBe(sellerBefore + PRICE)
  }, 60_000)

  it('GET /calls/:correlationId returns the stored result; unknown ids are 404', async () => {
    const res = await call(`/calls/${encodeURIComponent(paid.correlationId)}`)
    expect(res.status).toBe(200)
    const { warnings: _, ...stored } = paid
    expect(await res.json()).toEqual(stored)
    const list = (await (await call('/calls?state=done')).json()) as { calls: CallView[] }
    const listed = list.calls.find((v) => v.correlationId === paid.correlationId)
    const { output: __, ...withoutOutput } = stored
    expect(listed).toEqual(withoutOutput)
    const again = await post('/calls', { correlationId: paid.correlationId })
    expect(again.status).toBe(200)
    expect(await again.json()).toMatchObject({ correlationId: paid.correlationId, output: paid.output, state: 'done' })
    const missing = await call('/calls/nope')
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ error: { name: 'NotFound' } })
  })

  it('GET /wallet shows the address and the on-chain USDC balance', async () => {
    const balance = await buyer.usdcBalance()
    expect(await (await call('/wallet')).json()).toEqual({
      address: buyer.wallet.address,
      usdc: {
        asset: devnet.network.usdc.address,
        decimals: devnet.network.usdc.decimals,
        balance: balance.toString(),
        balanceUsdc: expect.stringMatching(/^\d+(\.\d{1,6})?$/),
        formatted: expect.stringMatching(/ USDC$/)
      }
    })
  })

  it('GET /reputation/:agentId counts the paid feedback', async () => {
    const res = await call(`/reputation/${sold.registration.agentId}`)
    expect(res.status).toBe(200)
    const body = (await res.json()) as {
      agentId: string
      summary: Record<string, { count: number; paidVolume: string }>
    }
    expect(body.agentId).toBe(sold.registration.agentId.toString())
    expect(body.summary[STARRED_TAG]).toMatchObject({ count: 1, paidVolume: PRICE.toString() })
  })

  it('POST /calls maps failures: no seller → 404, forged listing → 422 with reasons', async () => {
    const before = await buyer.usdcBalance()
    const none = await post('/calls', { capability: 'text-analysis', input: TEXT, maxPrice: '0.000001' })
    expect(none.status).toBe(404)
    expect(await none.json()).toMatchObject({ error: { name: 'NoSellerError' } })

    await publishForgedPayeeListing(seller, devnet, sold, buyer.wallet.address)
    const forged = await post('/calls', { capability: 'forged-payee', input: TEXT, maxPrice: '0.25' })
    expect(forged.status).toBe(422)
    const body = (await forged.json()) as { error: { name: string; reasons: Array<{ code: string }> } }
    expect(body.error.name).toBe('ListingVerificationError')
    expect(body.error.reasons.map((r) => r.code)).toContain('PAYTO_NOT_AGENT_WALLET')
    expect(await buyer.usdcBalance()).toBe(before)
  }, 60_000)

  it('refuses missing or wrong tokens with 401', async () => {
    for (const authorization of [undefined, 'Bearer wrong', `Basic ${token}`, `Bearer ${token}x`, 'Bearer']) {
      const res = await call('/status', authorization == null ? { auth: false } : { headers: { authorization } })
      expect(res.status, String(authorization)).toBe(401)
      expect(res.headers.get('www-authenticate')).toBe('Bearer')
      expect(await res.json()).toMatchObject({ error: { name: 'Unauthorized' } })
    }
    const postRes = await call('/calls', { auth: false, method: 'POST', body: '{}' })
    expect(postRes.status).toBe(401)
  })

  it('refuses foreign origins with 403, even with the token, and never sends a wildcard', async () => {
    const foreign = await call('/status', { headers: { origin: 'https://evil.example' } })
    expect(foreign.status).toBe(403)
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull()
    expect(await foreign.json()).toMatchObject({ error: { name: 'ForbiddenOrigin' } })

    const health = await call('/health', { auth: false, headers: { origin: 'null' } })
    expect(health.status).toBe(403)

    const preflight = await call('/calls', {
      auth: false,
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' }
    })
    expect(preflight.status).toBe(403)
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('gives CORS headers to allowed origins only (their own origin, never *)', async () => {
    const preflight = await call('/calls', {
      auth: false,
      method: 'OPTIONS',
      headers: {
        origin: APP_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type'
      }
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN)
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization/)
    expect(preflight.headers.get('vary')).toMatch(/Origin/)

    const res = await call('/status', { headers: { origin: APP_ORIGIN } })
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN)

    const unauthorized = await call('/status', { auth: false, headers: { origin: APP_ORIGIN } })
    expect(unauthorized.status).toBe(401)

    const noOrigin = await call('/status')
    expect(noOrigin.headers.get('access-control-allow-origin')).toBeNull()
    for (const r of [preflight, res, unauthorized, noOrigin]) {
      expect(r.headers.get('access-control-allow-origin')).not.toBe('*')
    }
  })

  it('refuses a foreign Host header (DNS rebinding) with 403', async () => {
    const { port } = new URL(api.url)
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/status',
          headers: { host: `rebind.evil.example:${port}`, authorization: `Bearer ${token}` }
        },
        (res) => {
          res.resume()
          resolve(res.statusCode)
        }
      )
      req.on('error', reject)
      req.end()
    })
    expect(status).toBe(403)
  })

  it('rejects bad input with 400 and the zod issues', async () => {
    const cases: Array<[string, RequestInit]> = [
      ['/calls', { method: 'POST', body: JSON.stringify({ capability: '', input: 1, maxPrice: '1' }) }],
      ['/calls', { method: 'POST', body: JSON.stringify({ capability: 'x', maxPrice: '1' }) }],
      ['/calls', { method: 'POST', body: JSON.stringify({ capability: 'x', input: 1, maxPrice: '-5' }) }],
      ['/calls', { method: 'POST', body: JSON.stringify({ capability: 'x', input: 1, maxPrice: 1, extra: true }) }],
      ['/discover', { method: 'POST', body: JSON.stringify({ capability: 42 }) }],
      ['/discover', { method: 'POST', body: '{not json' }],
      ['/listings?maxPrice=abc', {}],
      ['/listings?limit=0', {}],
      ['/listings?unknown=1', {}],
      ['/reputation/not-a-number', {}]
    ]
    for (const [path, init] of cases) {
      const res = await call(path, init)
      expect(res.status, `${path} ${String(init.body)}`).toBe(400)
      const body = (await res.json()) as { error: { name: string; issues?: unknown[] } }
      expect(['ValidationError', 'InvalidJson']).toContain(body.error.name)
      if (body.error.name === 'ValidationError') expect(body.error.issues?.length).toBeGreaterThan(0)
    }
  })

  it('rejects bodies over 64 KiB with 413', async () => {
    const body = JSON.stringify({ capability: 'text-analysis', input: 'x'.repeat(70_000), maxPrice: '1' })
    const res = await call('/calls', { method: 'POST', body })
    expect(res.status).toBe(413)
    expect(await res.json()).toMatchObject({ error: { name: 'PayloadTooLarge' } })
  })

  it('answers unknown routes with a JSON 404', async () => {
    const res = await call('/nope')
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ error: { name: 'NotFound' } })
    expect((await call('/status', { method: 'DELETE' })).status).toBe(404)
  })

  it('GET /openapi.json describes exactly the routes of the app', async () => {
    const res = await call('/openapi.json')
    expect(res.status).toBe(200)
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> }
    expect(doc.openapi).toBe('3.1.0')
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`)
    )
    const served = app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`)
    expect(new Set(documented)).toEqual(new Set(served))
    expect(documented).toHaveLength(served.length)
  })
})
