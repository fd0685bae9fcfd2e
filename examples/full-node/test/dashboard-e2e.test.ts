import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { Devnet } from '@betar/devnet'
import type { AgentConfig } from '@betar/executor'
import { type BetarNode, buyService, type SoldAgent, sellAgent } from '@betar/node'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nodeOn, startDevnet, textStatsAgent } from '../../../packages/node/test/fixtures.ts'
import { createApi, createApiToken, type RunningApi, startApi, withDashboard } from '../src/api/index.ts'
import { ARTIFACTS, buildDashboard, launchChromium } from './dashboard-harness.ts'

/** `expect.poll` with room for a loaded machine (its default gives up after 1 s). */
const poll: typeof expect.poll = (fn, options) => expect.poll(fn, { timeout: 15_000, ...options })

/** An agent paid before it runs that fails on the input "fail": the buyer is refunded on-chain. */
const pickyAgent: AgentConfig = {
  name: 'picky',
  description: 'Upper-cases text; fails on "fail" (after payment: refunded)',
  capabilities: ['upper-case'],
  price: { amount: '100000' },
  settlement: 'before',
  executor: { kind: 'function', module: join(import.meta.dirname, 'picky-agent.mjs') }
}

/** An agent that takes 3 s: a buyer that stops waiting leaves its call `sent`, to resume. */
const slowAgent: AgentConfig = {
  name: 'slow-upper',
  description: 'Upper-cases text, slowly',
  capabilities: ['shout'],
  price: { amount: '200000' },
  executor: { kind: 'function', module: join(import.meta.dirname, 'slow-agent.mjs') }
}

/**
 * The dashboard in real Chromium (Debian's, driven by playwright-core): a devnet, a seller node selling the echo
 * agent and a buyer node, each serving its API and dashboard as `betar start --dashboard` does. The buyer buys in
 * its dashboard and sees the call complete with its settlement transaction; the seller's earnings chart updates.
 * Every page is screenshotted into test-artifacts/dashboard/.
 */
describe('web dashboard in Chromium (devnet, seller and buyer nodes)', () => {
  let devnet: Devnet
  let seller: BetarNode
  let buyer: BetarNode
  let sold: SoldAgent
  let picky: SoldAgent
  let slow: SoldAgent
  let browser: Browser
  const token = createApiToken()
  const servers: RunningApi[] = []
  const dashboards: Array<ReturnType<typeof withDashboard>> = []
  let sellerUrl: string
  let buyerUrl: string
  let foreign: Server
  let foreignUrl: string

  const serve = async (node: BetarNode, agents?: Map<string, unknown>) => {
    const dash = withDashboard(createApi(node, { token, ...(agents != null ? { agents } : {}) }), { token })
    const api = await startApi(dash.app)
    servers.push(api)
    dashboards.push(dash)
    return { url: api.url, dash }
  }
  const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
  /** A new browser profile (its own cookies) signed in to the dashboard at `url` with a fresh login link. */
  const signedIn = async (dash: ReturnType<typeof withDashboard>, url: string, page = 'market') => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const tab = await context.newPage()
    await tab.goto(dash.loginUrl(url))
    await tab.getByTestId('nav-market').waitFor()
    await tab.goto(`${url}/dashboard/#/${page}`)
    return { context, tab }
  }

  beforeAll(async () => {
    buildDashboard()
    ;[devnet, browser] = await Promise.all([startDevnet({ accounts: 2 }), launchChromium()])
    seller = await nodeOn(devnet, 0)
    buyer = await nodeOn(devnet, 1, { bootstrap: seller.multiaddrs().map(String) })
    sold = await sellAgent(seller, textStatsAgent)
    picky = await sellAgent(seller, pickyAgent)
    slow = await sellAgent(seller, slowAgent)
    sellerUrl = (
      await serve(
        seller,
        new Map(
          [sold, picky, slow].map((s) => [s.resource, { agentId: String(s.registration.agentId), listing: s.listing }])
        )
      )
    ).url
    buyerUrl = (await serve(buyer)).url
    // A page of another origin (another port on the same host: same-site, so SameSite cookies alone would not stop it).
    foreign = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end('<!doctype html><title>foreign</title><pre id="out">…</pre>')
    })
    await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve))
    foreignUrl = `http://127.0.0.1:${(foreign.address() as AddressInfo).port}`
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await Promise.all(servers.map((s) => s.close()))
    await new Promise<void>((resolve) => (foreign != null ? foreign.close(() => resolve()) : resolve()))
    await buyer?.stop()
    await seller?.stop()
    await devnet?.stop()
  }, 30_000)

  it('shows sign-in failures in the page: no session, a used login link, an invalid one, a foreign origin', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const pageErrors: Error[] = []
    page.on('pageerror', (e) => pageErrors.push(e))

    // No session: the sign-in screen, saying why.
    const res = await page.goto(`${buyerUrl}/dashboard/`)
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'")
    await poll(() => page.getByTestId('auth-error').getAttribute('data-reason')).toBe('NoSession')
    await shot(page, '01-sign-in-no-session')

    // A wrong token typed in: refused, shown, still on the sign-in screen.
    await page.locator('input[name=token]').fill('not-the-token-at-all')
    await page.getByTestId('sign-in-token').click()
    await poll(() => page.getByTestId('sign-in-error').textContent()).toMatch(/invalid API token/)

    // A login link works once: the code leaves the address bar at once; a second browser gets "already used".
    const link = dashboards[1]!.loginUrl(buyerUrl)
    const first = await (await browser.newContext()).newPage()
    await first.goto(link)
    await first.getByTestId('nav-market').waitFor()
    expect(first.url()).not.toContain('login=')
    expect(await first.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash)).toBe(
      '#/market'
    )
    await page.goto(link)
    await poll(() => page.getByTestId('auth-error').getAttribute('data-reason')).toBe('LoginCodeUsed')
    expect(page.url()).not.toContain('login=')
    await shot(page, '02-sign-in-link-used')

    await page.goto(`${buyerUrl}/dashboard/#login=expired-or-made-up-code`)
    await poll(() => page.getByTestId('auth-error').getAttribute('data-reason')).toBe('LoginCodeInvalid')

    // A foreign page in the signed-in browser cannot use the session: its requests are refused by the node.
    const balance = await buyer.usdcBalance()
    const attack = await first.context().newPage()
    await attack.goto(foreignUrl)
    const outcome = await attack.evaluate(async (target) => {
      const tries: string[] = []
      for (const init of [
        { credentials: 'include', headers: { 'X-Betar-Dashboard': '1' } },
        { credentials: 'include', mode: 'no-cors' },
        { credentials: 'include', mode: 'no-cors', method: 'POST', body: '{}' }
      ] as RequestInit[]) {
        try {
          const r = await fetch(`${target}/dashboard/api/${init.method === 'POST' ? 'faucet' : 'wallet'}`, init)
          tries.push(`${r.type}:${r.status}`)
        } catch (e) {
          tries.push(`blocked:${(e as Error).name}`)
        }
      }
      return tries
    }, buyerUrl)
    // CORS mode: the preflight is refused (403); no-cors: the node answers 403 (foreign Origin) and the browser
    // withholds even that (Cross-Origin-Resource-Policy). The POST to the faucet did nothing.
    expect(outcome).toEqual(['blocked:TypeError', 'blocked:TypeError', 'blocked:TypeError'])
    expect(await buyer.usdcBalance()).toBe(balance)

    // The dashboard itself, when the node refuses its origin: shown, not crashed.
    const refusedPage = await first.context().newPage()
    // Its API requests reach the node with a foreign Origin (sent from the test's side: a browser sets its own).
    await refusedPage.route('**/dashboard/api/**', async (route) => {
      const response = await route.fetch({ headers: { ...route.request().headers(), origin: 'http://evil.example' } })
      await route.fulfill({ response })
    })
    await refusedPage.goto(`${buyerUrl}/dashboard/#/wallet`)
    await poll(() => refusedPage.getByTestId('auth-error').getAttribute('data-reason')).toBe('ForbiddenOrigin')
    await shot(refusedPage, '03-refused-foreign-origin')
    expect(pageErrors).toEqual([])
    await context.close()
    await first.context().close()
  }, 60_000)

  it('buys a service in the buyer’s dashboard; the call completes with its tx; the seller’s earnings chart updates', async () => {
    const s = await signedIn(dashboards[0]!, sellerUrl, 'agents')
    const b = await signedIn(dashboards[1]!, buyerUrl, 'market')
    const errors: Error[] = []
    for (const tab of [s.tab, b.tab]) {
      tab.on('pageerror', (e) => errors.push(e))
      // Nothing fails to load (a 401 for /favicon.ico, say) once signed in, but the failing call bought on purpose.
      tab.on('console', (m) => {
        if (m.type() === 'error' && !m.location().url.endsWith('/dashboard/api/calls'))
          errors.push(new Error(`${m.text()} ${m.location().url}`))
      })
    }

    // The seller's agent, before any sale.
    await s.tab.locator('[data-testid=agent-row][data-agent=text-stats]').waitFor()
    expect(await s.tab.getByTestId('agent-sold').allTextContents()).toEqual(['0', '0', '0'])
    expect(await s.tab.getByTestId('earnings-chart').count()).toBe(0)
    await shot(s.tab, '10-seller-agents-before')

    // The marketplace on the buyer: the seller's listing, verified against the ERC-8004 registry.
    const row = b.tab.locator(`[data-testid=listing-row][data-listing="${sold.listing.id}"]`)
    await row.waitFor({ timeout: 20_000 })
    await poll(() => row.getByTestId('verification').textContent(), { timeout: 15_000 }).toBe('verified')
    await b.tab.locator('input[name=capability]').fill('text-analysis')
    await b.tab.locator('input[name=maxPrice]').fill('1')
    await b.tab.getByRole('button', { name: 'Search' }).click()
    await row.waitFor()
    await shot(b.tab, '11-buyer-marketplace')

    // Buy.
    await row.getByTestId('buy').click()
    await b.tab.getByTestId('confirm-buy').click()
    const result = b.tab.getByTestId('buy-result')
    await result.waitFor({ timeout: 30_000 })
    expect(await result.getByTestId('buy-state').textContent()).toBe('done')
    const tx = await result.getByTestId('buy-tx').getAttribute('title')
    expect(tx).toMatch(/^0x[0-9a-f]{64}$/)
    await shot(b.tab, '12-buyer-bought')

    // The buyer's calls: done, with the settlement transaction.
    await b.tab.getByTestId('nav-calls').click()
    const call = b.tab.getByTestId('call-row').first()
    await call.waitFor()
    expect(await call.getAttribute('data-state')).toBe('done')
    expect(await call.getByTestId('call-tx').getAttribute('title')).toBe(tx)
    await shot(b.tab, '13-buyer-calls')

    // A call that fails after payment: the error is shown, the call is refunded on-chain.
    await b.tab.getByTestId('nav-market').click()
    const pickyRow = b.tab.locator(`[data-testid=listing-row][data-listing="${picky.listing.id}"]`)
    await pickyRow.waitFor()
    // The score filter: no listing scores above 100.
    await b.tab.locator('input[name=minScore]').fill('101')
    await poll(() => b.tab.getByTestId('listing-row').count()).toBe(0)
    await b.tab.locator('input[name=minScore]').fill('')
    await pickyRow.getByTestId('buy').click()
    await b.tab.locator('textarea[name=input]').fill('fail')
    await b.tab.getByTestId('confirm-buy').click()
    await poll(() => b.tab.getByTestId('buy-dialog').getByTestId('error').textContent(), { timeout: 30_000 }).toMatch(
      /refunded in 0x[0-9a-f]{64}/
    )
    await shot(b.tab, '12b-buyer-refunded')
    await b.tab.getByTestId('nav-calls').click()
    const refunded = b.tab.locator('[data-testid=call-row][data-state=refunded]')
    await refunded.waitFor()
    expect(await refunded.getByTestId('refund-tx').getAttribute('title')).toMatch(/^0x[0-9a-f]{64}$/)
    await shot(b.tab, '13b-buyer-calls-refunded')

    // A call whose buyer stopped waiting (paid, outcome unknown: `sent`) is resumed from the calls page.
    // The buyer stops waiting as soon as the call is paid and sent (the agent takes 3 s), whatever the machine's load.
    const stop = new AbortController()
    const abandoned = buyService(buyer, 'shout', 'resume me', {
      maxPrice: 200_000n,
      correlationId: 'dashboard-resume',
      signal: stop.signal
    }).catch(() => undefined)
    const deadline = Date.now() + 20_000
    while ((await buyer.journal.get('dashboard-resume'))?.state !== 'sent' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25))
    }
    stop.abort()
    await abandoned
    expect((await buyer.journal.get('dashboard-resume'))?.state).toBe('sent')
    const pending = b.tab.locator('[data-testid=call-row][data-state=sent]')
    await pending.waitFor({ timeout: 10_000 })
    await shot(b.tab, '13c-buyer-calls-resumable')
    await pending.getByTestId('resume').click()
    await poll(() => b.tab.getByTestId('call-row').first().getAttribute('data-state'), { timeout: 20_000 }).toBe('done')
    expect((await buyer.journal.get('dashboard-resume'))?.state).toBe('done')
    await shot(b.tab, '13d-buyer-calls-resumed')

    // The seller's page updates by itself: one sale, 0.25 USDC earned, a chart with a point.
    const textStats = s.tab.locator('[data-testid=agent-row][data-agent=text-stats]')
    await poll(() => textStats.getByTestId('agent-sold').textContent(), { timeout: 15_000 }).toBe('1')
    expect(await textStats.getByTestId('agent-earned').textContent()).toBe('0.25 USDC')
    const pickyAgentRow = s.tab.locator('[data-testid=agent-row][data-agent=picky]')
    await poll(() => pickyAgentRow.getByTestId('agent-refunded').textContent(), { timeout: 15_000 }).toBe('1')
    const chart = s.tab.getByTestId('earnings-chart').first()
    await chart.waitFor()
    expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThanOrEqual(1)
    expect(await chart.locator('canvas').count()).toBe(1)
    await shot(s.tab, '14-seller-agents-after')

    // The seller's sold calls.
    await s.tab.getByTestId('nav-calls').click()
    await s.tab.getByTestId('sale-row').first().waitFor()
    await shot(s.tab, '15-seller-calls')

    // Reputation of the seller's agent (the buyer's feedback arrives once its transaction is mined).
    await s.tab.getByTestId('nav-reputation').click()
    await s.tab.getByRole('button', { name: `text-stats (#${sold.registration.agentId})` }).click()
    await s.tab.getByTestId('reputation-score').waitFor()
    await poll(() => s.tab.getByTestId('feedback-row').count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(1)
    await shot(s.tab, '16-seller-reputation')

    // Wallet, with the devnet faucet.
    await b.tab.getByTestId('nav-wallet').click()
    await b.tab.getByTestId('wallet-usdc').waitFor()
    await b.tab.getByTestId('faucet').click()
    await poll(() => b.tab.getByTestId('faucet-result').textContent(), { timeout: 15_000 }).toMatch(/added 100/)
    await shot(b.tab, '17-buyer-wallet')

    // Peers and node health.
    await b.tab.getByTestId('nav-peers').click()
    await b.tab.getByTestId('peer-row').first().waitFor()
    await shot(b.tab, '18-buyer-peers-health')

    expect(errors).toEqual([])
    await s.context.close()
    await b.context.close()
  }, 90_000)

  it('the added read routes answer the bearer token too', async () => {
    const get = async (path: string) => {
      const res = await fetch(`${sellerUrl}${path}`, { headers: { authorization: `Bearer ${token}` } })
      expect(res.status, path).toBe(200)
      return res.json() as Promise<Record<string, unknown>>
    }
    const series = await get('/sales/series?bucket=1000')
    expect(series).toMatchObject({
      bucket: 1000,
      series: [
        { agent: 'picky', points: [{ sold: 0, refunded: 1, earned: '0' }] },
        { agent: 'slow-upper', points: [{ sold: 1, earned: '200000' }] },
        { agent: sold.resource, points: [{ sold: 1, earned: '250000', cumulativeUsdc: '0.25' }] }
      ]
    })
    const verification = await get(`/listings/${encodeURIComponent(sold.listing.id)}/verification`)
    expect(verification).toMatchObject({ status: 'verified', agentId: String(sold.registration.agentId) })
    const health = await get('/node/health')
    expect(health).toMatchObject({
      ok: true,
      network: 'devnet',
      peers: 1,
      agents: expect.arrayContaining([expect.objectContaining({ name: sold.resource, listed: true })])
    })
    const feedback = await get(`/reputation/${sold.registration.agentId}/feedback`)
    expect(feedback).toMatchObject({ agentId: String(sold.registration.agentId) })
    expect(
      (await fetch(`${sellerUrl}/listings/nope/verification`, { headers: { authorization: `Bearer ${token}` } })).status
    ).toBe(404)
    expect(
      (await fetch(`${sellerUrl}/sales/series?bucket=1`, { headers: { authorization: `Bearer ${token}` } })).status
    ).toBe(400)
  })

  it('runs a paid workflow from the buyer’s dashboard: the step completes with its tx, the receipt exports', async () => {
    const b = await signedIn(dashboards[1]!, buyerUrl, 'workflows')
    const errors: Error[] = []
    b.tab.on('pageerror', (e) => errors.push(e))
    // A definition with an unknown step reference is refused with its issues, nothing paid.
    const definition = b.tab.locator('textarea[name=definition]')
    await definition.fill(
      JSON.stringify({
        budget: '400000',
        steps: [{ id: 'a', capability: 'text-analysis', maxPrice: '250000', input: { $ref: '/steps/nope/output' } }]
      })
    )
    await b.tab.getByTestId('workflow-submit').click()
    await b.tab.getByTestId('workflow-issues').waitFor()
    expect(await b.tab.getByTestId('workflow-row').count()).toBe(0)

    // The page's example: one text-analysis step, at most 0.25 USDC of 0.40.
    await b.tab.reload()
    await b.tab.getByTestId('workflow-submit').click()
    const row = b.tab.getByTestId('workflow-row').first()
    await poll(() => row.getAttribute('data-status'), { timeout: 30_000 }).toBe('completed')
    const step = b.tab.locator('[data-testid=workflow-step][data-step=stats]')
    await poll(() => step.getAttribute('data-status'), { timeout: 10_000 }).toBe('completed')
    expect(await step.getByTestId('workflow-step-tx').getAttribute('title')).toMatch(/^0x[0-9a-f]{64}$/)
    expect(await b.tab.getByTestId('workflow-detail-spent').textContent()).toBe('0.25 USDC')
    await b.tab.getByTestId('workflow-export').click()
    const link = b.tab.getByTestId('workflow-receipt-link')
    await link.waitFor()
    const [download] = await Promise.all([b.tab.waitForEvent('download'), link.click()])
    const receipt = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { entries?: unknown[] }
    expect(JSON.stringify(receipt)).toContain((await step.getByTestId('workflow-step-tx').getAttribute('title'))!)
    await shot(b.tab, '19-buyer-workflows')
    expect(errors).toEqual([])
    await b.context.close()
  }, 60_000)
})
