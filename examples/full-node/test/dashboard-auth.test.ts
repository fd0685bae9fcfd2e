import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SaleRecord } from '@betar/node'
import { Hono } from 'hono'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { salesSeries } from '../src/api/dashboard-routes.ts'
import { createApiToken, DASHBOARD_CSP, withDashboard } from '../src/api/index.ts'

const HOST = '127.0.0.1:4100'
const SELF = `http://${HOST}`

/** A stand-in for the REST API: answers `/status` to the bearer token only, and echoes what it was sent. */
function fakeApi(token: string): Hono {
  const api = new Hono()
  api.use(async (c, next) => {
    if (c.req.header('authorization') !== `Bearer ${token}`) return c.json({ error: { name: 'Unauthorized' } }, 401)
    return next()
  })
  api.get('/status', (c) => c.json({ ok: true, host: c.req.header('host'), origin: c.req.header('origin') ?? null }))
  api.post('/calls', async (c) => c.json({ got: await c.req.json() }, 201))
  return api
}

describe('dashboard sign-in, session and origin checks', () => {
  const token = createApiToken()
  const dir = mkdtempSync(join(tmpdir(), 'betar-dash-'))
  mkdirSync(join(dir, 'assets'))
  writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="/dashboard/assets/a.js"></script>')
  writeFileSync(join(dir, 'assets', 'a.js'), 'export {}')
  let clock = 1_000_000
  let dash = withDashboard(fakeApi(token), { token, staticDir: dir, now: () => clock, loginCodeTtlMs: 60_000 })

  beforeEach(() => {
    clock = 1_000_000
    dash = withDashboard(fakeApi(token), { token, staticDir: dir, now: () => clock, loginCodeTtlMs: 60_000 })
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const req = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers)
    if (!headers.has('host')) headers.set('host', HOST)
    return dash.app.request(`${SELF}${path}`, { ...init, headers })
  }
  const browser = (extra: Record<string, string> = {}) => ({ origin: SELF, 'sec-fetch-site': 'same-origin', ...extra })
  const exchange = (body: unknown, headers: Record<string, string> = browser()) =>
    req('/dashboard/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body)
    })
  const cookieOf = (res: Response) => (res.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
  const apiGet = (path: string, cookie: string, extra: Record<string, string> = {}) =>
    req(`/dashboard/api${path}`, {
      headers: { cookie, 'x-betar-dashboard': '1', 'sec-fetch-site': 'same-origin', ...extra }
    })

  it('serves the built page with a strict CSP and no inline script', async () => {
    const res = await req('/dashboard/')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-security-policy')).toBe(DASHBOARD_CSP)
    expect(DASHBOARD_CSP).toContain("script-src 'self'")
    expect(DASHBOARD_CSP).not.toContain('unsafe-inline')
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(await res.text()).toContain('/dashboard/assets/a.js')
    const js = await req('/dashboard/assets/a.js')
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/)
    // `..` is resolved by the URL parser (the request leaves /dashboard); an encoded one stays inside the dir.
    expect((await req('/dashboard/assets/../../../etc/passwd')).status).toBe(401)
    expect((await req('/dashboard/assets/..%2f..%2f..%2f..%2fetc%2fpasswd')).status).toBe(404)
    expect((await req('/dashboard')).status).toBe(302)
  })

  it('says the dashboard is not built rather than crash', async () => {
    const bare = withDashboard(fakeApi(token), { token, staticDir: join(dir, 'missing') })
    const res = await bare.app.request(`${SELF}/dashboard/`, { headers: { host: HOST } })
    expect(res.status).toBe(503)
    expect(await res.text()).toMatch(/not built/)
  })

  it('exchanges a one-time code for an HttpOnly SameSite=Strict cookie of this port, once', async () => {
    const code = dash.issueLoginCode()
    expect(dash.loginUrl(SELF, code)).toBe(`${SELF}/dashboard/#login=${code}`)
    const res = await exchange({ code })
    expect(res.status).toBe(200)
    const setCookie = res.headers.get('set-cookie') ?? ''
    expect(setCookie).toMatch(/^betar_session_4100=[\w-]{40,};/)
    expect(setCookie).toContain('HttpOnly')
    expect(setCookie).toContain('SameSite=Strict')
    expect(setCookie).toContain('Path=/dashboard')
    const status = await apiGet('/status', cookieOf(res))
    expect(status.status).toBe(200)
    expect(await status.json()).toEqual({ ok: true, host: HOST, origin: null })

    const again = await exchange({ code })
    expect(again.status).toBe(401)
    expect(await again.json()).toMatchObject({ error: { name: 'LoginCodeUsed' } })
  })

  it('refuses an expired or unknown code, and a wrong token', async () => {
    const code = dash.issueLoginCode()
    clock += 60_001
    const res = await exchange({ code })
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: { name: 'LoginCodeInvalid' } })
    expect((await exchange({ code: 'nope-nope-nope' })).status).toBe(401)
    expect((await exchange({ token: 'x'.repeat(43) })).status).toBe(401)
    expect((await exchange({ token })).status).toBe(200)
    expect((await exchange('not an object')).status).toBe(401)
    expect((await req('/dashboard/session', { method: 'POST', headers: browser(), body: '{' })).status).toBe(400)
    const big = JSON.stringify({ token: 'x'.repeat(5000) })
    expect((await req('/dashboard/session', { method: 'POST', headers: browser(), body: big })).status).toBe(413)
  })

  it('refuses sign-in and API calls from a foreign origin', async () => {
    const code = dash.issueLoginCode()
    const foreign = await exchange({ code }, { origin: 'http://127.0.0.1:5173', 'sec-fetch-site': 'same-site' })
    expect(foreign.status).toBe(403)
    expect(await foreign.json()).toMatchObject({ error: { name: 'ForbiddenOrigin' } })
    expect((await exchange({ code }, { 'sec-fetch-site': 'cross-site' })).status).toBe(403)
    // The code was not spent by the refused attempts.
    const ok = await exchange({ code })
    expect(ok.status).toBe(200)
    const cookie = cookieOf(ok)

    const evil = await apiGet('/status', cookie, { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' })
    expect(evil.status).toBe(403)
    expect((await apiGet('/status', cookie, { 'sec-fetch-site': 'same-site' })).status).toBe(403)
    // Without the custom header (a "simple" cross-origin request would lack it) the API is not reached.
    const simple = await req('/dashboard/api/status', { headers: { cookie, 'sec-fetch-site': 'same-origin' } })
    expect(simple.status).toBe(403)
    // A write without Origin or Sec-Fetch-Site from a cookie-carrying client is refused.
    const write = await req('/dashboard/api/calls', {
      method: 'POST',
      headers: { cookie, 'x-betar-dashboard': '1', 'content-type': 'application/json' },
      body: '{}'
    })
    expect(write.status).toBe(403)
    const same = await req('/dashboard/api/calls', {
      method: 'POST',
      headers: { cookie, 'x-betar-dashboard': '1', 'content-type': 'application/json', ...browser() },
      body: JSON.stringify({ capability: 'x' })
    })
    expect(same.status).toBe(201)
    expect(await same.json()).toEqual({ got: { capability: 'x' } })
  })

  it('answers 401 NoSession without a cookie, with another port’s cookie, after expiry and after sign-out', async () => {
    expect((await apiGet('/status', '')).status).toBe(401)
    const res = await exchange({ token })
    const cookie = cookieOf(res)
    const otherPort = cookie.replace('betar_session_4100', 'betar_session_4200')
    const body = await (await apiGet('/status', otherPort)).json()
    expect(body).toMatchObject({ error: { name: 'NoSession' } })
    expect((await apiGet('/status', cookie)).status).toBe(200)
    const out = await req('/dashboard/session', { method: 'DELETE', headers: { cookie, ...browser() } })
    expect(out.status).toBe(200)
    expect((await apiGet('/status', cookie)).status).toBe(401)

    const later = cookieOf(await exchange({ token }))
    clock += 12 * 60 * 60_000 + 1
    expect((await apiGet('/status', later)).status).toBe(401)
  })

  it('hands a new login link to a holder of the token, and refuses a foreign Host', async () => {
    expect((await req('/dashboard/login-link', { method: 'POST' })).status).toBe(401)
    const res = await req('/dashboard/login-link', { method: 'POST', headers: { authorization: `Bearer ${token}` } })
    expect(res.status).toBe(200)
    const { url } = (await res.json()) as { url: string }
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:4100\/dashboard\/#login=[\w-]+$/)
    const code = url.split('#login=')[1]
    expect((await exchange({ code })).status).toBe(200)
    expect((await req('/dashboard/', { headers: { host: 'evil.example:4100' } })).status).toBe(403)
  })

  it('passes every other request to the REST API unchanged (bearer token)', async () => {
    expect((await req('/status')).status).toBe(401)
    const res = await req('/status', { headers: { authorization: `Bearer ${token}` } })
    expect(res.status).toBe(200)
  })
})

describe('salesSeries', () => {
  const sale = (agent: string, at: number, outcome: SaleRecord['outcome'], amount = '250000'): SaleRecord => ({
    outcome,
    agent,
    buyer: 'p',
    payer: '0x0',
    correlationId: `${agent}-${at}`,
    amount,
    asset: '0x0',
    network: 'eip155:31337',
    at
  })

  it('buckets each agent’s outcomes, oldest first, with the running total of sold amounts', () => {
    const series = salesSeries(
      [
        sale('b', 12_500, 'sold', '100'),
        sale('a', 61_000, 'sold'),
        sale('a', 1_000, 'sold'),
        sale('a', 2_000, 'refunded'),
        sale('a', 59_999, 'failed')
      ],
      60_000
    )
    expect(series).toEqual([
      {
        agent: 'a',
        points: [
          { at: 0, sold: 1, refunded: 1, failed: 1, earned: '250000', cumulative: '250000' },
          { at: 60_000, sold: 1, refunded: 0, failed: 0, earned: '250000', cumulative: '500000' }
        ]
      },
      { agent: 'b', points: [{ at: 0, sold: 1, refunded: 0, failed: 0, earned: '100', cumulative: '100' }] }
    ])
    expect(salesSeries([], 1000)).toEqual([])
  })
})
