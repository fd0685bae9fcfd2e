import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { extname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Context, Hono } from 'hono'
import { safeEqual } from './auth.ts'
import { hostPolicy, LOOPBACK_HOSTNAMES } from './host.ts'
import { errorBody } from './json.ts'

/** Where `pnpm build` (vite) writes the dashboard: `<package>/dist/dashboard`, from `src/api` and `dist/api` alike. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../dist/dashboard/', import.meta.url))

/** The dashboard's path prefix on the API server. */
export const DASHBOARD_PATH = '/dashboard'

/**
 * Content-Security-Policy of every dashboard response: only the node's own scripts, styles and API (no inline script,
 * no CDN, no framing).
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'"
].join('; ')

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=UTF-8',
  '.js': 'text/javascript; charset=UTF-8',
  '.css': 'text/css; charset=UTF-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=UTF-8',
  '.woff2': 'font/woff2'
}

/** Options of {@link withDashboard}. */
export interface DashboardOptions {
  /** The REST API's bearer token: the dashboard calls the API with it on behalf of a signed-in browser. */
  token: string
  /** The built dashboard (index.html and assets/). @default {@link DEFAULT_DASHBOARD_DIR} */
  staticDir?: string
  /** How long a login code is valid (ms). @default 600000 (10 min) */
  loginCodeTtlMs?: number
  /** How long a browser session lasts (ms). @default 43200000 (12 h) */
  sessionTtlMs?: number
  /** Host names accepted in `Host` (as the API). @default loopback names */
  allowedHosts?: string[]
  now?: () => number
}

/** The API server's app with the dashboard mounted, and the means to hand out one-time login links. */
export interface DashboardServer {
  /** Serves `/dashboard/…` and passes every other request to the REST API unchanged. */
  app: Hono
  /** A new one-time login code (valid `loginCodeTtlMs`, spent by its first use). */
  issueLoginCode(): string
  /** Whether the built page (`index.html`) is there; without it `/dashboard/` answers 503 "not built". */
  built: boolean
  /** The URL to open for `code`, on the server at `baseUrl` (the code rides in the fragment: never sent in a request). */
  loginUrl(baseUrl: string, code?: string): string
}

const MAX_SESSIONS = 64
const MAX_SESSION_BODY = 4096
const MAX_LOGIN_CODES = 64

/**
 * Mounts the web dashboard in front of the REST API `api` (the app of `createApi`): the same loopback server, Host
 * check and token. A browser signs in by exchanging a one-time login code (from the URL `betar start --dashboard`
 * prints, carried in the fragment) or the API token for an HttpOnly, SameSite=Strict session cookie scoped to the
 * server's port; `/dashboard/api/*` then forwards to the REST API with the bearer token. Requests from any other origin
 * are refused (Origin / Sec-Fetch-Site checks, and a custom header that a cross-origin page cannot send without a
 * preflight, which is refused too). Every dashboard response carries a strict CSP.
 */
export function withDashboard(api: Hono, options: DashboardOptions): DashboardServer {
  const now = options.now ?? Date.now
  const staticDir = options.staticDir ?? DEFAULT_DASHBOARD_DIR
  const codeTtl = options.loginCodeTtlMs ?? 10 * 60_000
  const sessionTtl = options.sessionTtlMs ?? 12 * 60 * 60_000
  const codes = new Map<string, number>()
  const spent = new Map<string, number>()
  const sessions = new Map<string, number>()

  const prune = (map: Map<string, number>, max: number) => {
    const t = now()
    for (const [k, expires] of map) if (expires <= t) map.delete(k)
    while (map.size > max) map.delete(map.keys().next().value as string)
  }
  const issueLoginCode = () => {
    prune(codes, MAX_LOGIN_CODES - 1)
    const code = randomBytes(24).toString('base64url')
    codes.set(code, now() + codeTtl)
    return code
  }

  const app = new Hono()
  app.use(hostPolicy(options.allowedHosts ?? LOOPBACK_HOSTNAMES))

  const dash = new Hono().basePath(DASHBOARD_PATH)
  dash.use(async (c, next) => {
    await next()
    c.header('Content-Security-Policy', DASHBOARD_CSP)
    c.header('X-Content-Type-Options', 'nosniff')
    c.header('X-Frame-Options', 'DENY')
    c.header('Referrer-Policy', 'no-referrer')
    c.header('Cross-Origin-Opener-Policy', 'same-origin')
    c.header('Cross-Origin-Resource-Policy', 'same-origin')
  })

  // Sign-in: a one-time login code, or the API token itself (typed by the user). Same-origin only.
  dash.post('/session', async (c) => {
    const refused = foreignRequest(c, true)
    if (refused != null) return refused
    const tooLarge = () => c.json(errorBody('PayloadTooLarge', `request body exceeds ${MAX_SESSION_BODY} bytes`), 413)
    if (Number(c.req.header('content-length') ?? 0) > MAX_SESSION_BODY) return tooLarge()
    const text = await c.req.text()
    if (text.length > MAX_SESSION_BODY) return tooLarge()
    let body: { code?: unknown; token?: unknown }
    try {
      body = JSON.parse(text) as { code?: unknown; token?: unknown }
    } catch {
      return c.json(errorBody('InvalidJson', 'expected {"code": "…"} or {"token": "…"}'), 400)
    }
    if (body == null || typeof body !== 'object') body = {}
    if (typeof body.code === 'string') {
      prune(codes, MAX_LOGIN_CODES)
      const expires = codes.get(body.code)
      if (expires == null) {
        const used = spent.has(body.code)
        return c.json(
          errorBody(
            used ? 'LoginCodeUsed' : 'LoginCodeInvalid',
            used
              ? 'this login link was already used: each link signs in one browser once'
              : 'this login link has expired or is not valid'
          ),
          401
        )
      }
      codes.delete(body.code)
      prune(spent, MAX_LOGIN_CODES * 4)
      spent.set(body.code, now() + sessionTtl)
    } else if (typeof body.token !== 'string' || !safeEqual(body.token, options.token)) {
      return c.json(errorBody('Unauthorized', 'invalid API token'), 401)
    }
    prune(sessions, MAX_SESSIONS - 1)
    const session = randomBytes(32).toString('base64url')
    const expiresAt = now() + sessionTtl
    sessions.set(session, expiresAt)
    c.header(
      'Set-Cookie',
      `${cookieName(c)}=${session}; Path=${DASHBOARD_PATH}; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(sessionTtl / 1000)}`
    )
    c.header('Cache-Control', 'no-store')
    return c.json({ ok: true, expiresAt })
  })

  dash.delete('/session', (c) => {
    const refused = foreignRequest(c, true)
    if (refused != null) return refused
    const session = sessionOf(c)
    if (session != null) sessions.delete(session)
    c.header('Set-Cookie', `${cookieName(c)}=; Path=${DASHBOARD_PATH}; HttpOnly; SameSite=Strict; Max-Age=0`)
    return c.json({ ok: true })
  })

  // A new one-time login link, for an app or script holding the API token (e.g. `curl -X POST -H "Authorization: …"`).
  dash.post('/login-link', (c) => {
    const refused = foreignRequest(c, false)
    if (refused != null) return refused
    const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')
    if (match?.[1] == null || !safeEqual(match[1], options.token)) {
      c.header('WWW-Authenticate', 'Bearer')
      return c.json(errorBody('Unauthorized', 'missing or invalid bearer token'), 401)
    }
    const code = issueLoginCode()
    return c.json({ url: loginUrl(new URL(c.req.url).origin, code), expiresAt: codes.get(code) })
  })

  // The REST API, for a signed-in browser.
  dash.all('/api/*', async (c) => {
    const refused = foreignRequest(c, c.req.method !== 'GET' && c.req.method !== 'HEAD')
    if (refused != null) return refused
    if (c.req.header('x-betar-dashboard') !== '1') {
      return c.json(errorBody('ForbiddenOrigin', 'dashboard API requests must come from the dashboard'), 403)
    }
    const session = sessionOf(c)
    const expires = session != null ? sessions.get(session) : undefined
    if (session == null || expires == null || expires <= now()) {
      if (session != null) sessions.delete(session)
      return c.json(errorBody('NoSession', 'not signed in (or the session expired): open a new login link'), 401)
    }
    const url = new URL(c.req.url)
    const target = new URL(url.pathname.slice(`${DASHBOARD_PATH}/api`.length) + url.search, url.origin)
    const headers = new Headers({ authorization: `Bearer ${options.token}`, host: c.req.header('host') ?? '' })
    const type = c.req.header('content-type')
    if (type != null) headers.set('content-type', type)
    const hasBody = c.req.method !== 'GET' && c.req.method !== 'HEAD'
    const res = await api.fetch(
      new Request(target, {
        method: c.req.method,
        headers,
        ...(hasBody ? { body: await c.req.arrayBuffer() } : {})
      })
    )
    const out = new Response(res.body, res)
    out.headers.set('Cache-Control', 'no-store')
    return out
  })

  dash.get('/', (c) => c.redirect(`${DASHBOARD_PATH}/`, 302))
  dash.get('/index.html', async (c) => serveFile(c, staticDir, 'index.html'))
  dash.get('/assets/*', async (c) => serveFile(c, staticDir, c.req.path.slice(`${DASHBOARD_PATH}/`.length)))
  dash.all('*', (c) => c.json(errorBody('NotFound', `no route ${c.req.method} ${c.req.path}`), 404))

  app.get(`${DASHBOARD_PATH}/`, async (c) => dash.fetch(new Request(new URL('index.html', c.req.url), c.req.raw)))
  app.all(`${DASHBOARD_PATH}/*`, (c) => dash.fetch(c.req.raw))
  app.all(DASHBOARD_PATH, (c) => dash.fetch(c.req.raw))
  app.all('*', (c) => api.fetch(c.req.raw))

  function sessionOf(c: Context): string | undefined {
    const name = cookieName(c)
    for (const part of (c.req.header('cookie') ?? '').split(';')) {
      const eq = part.indexOf('=')
      if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
    }
    return undefined
  }

  return { app, issueLoginCode, loginUrl, built: existsSync(join(staticDir, 'index.html')) }

  function loginUrl(baseUrl: string, code: string = issueLoginCode()): string {
    return `${baseUrl.replace(/\/+$/, '')}${DASHBOARD_PATH}/#login=${code}`
  }
}

/**
 * Refuses (403 `ForbiddenOrigin`) a request from another origin: an `Origin` other than the server's own, or a
 * `Sec-Fetch-Site` other than `same-origin` (`none` — typed in the address bar — is let through for GETs only). With
 * `requireOrigin`, a request that shows neither header from a browser is refused as well.
 */
function foreignRequest(c: Context, requireOrigin: boolean): Response | undefined {
  const self = `http://${c.req.header('host') ?? ''}`.toLowerCase()
  const origin = c.req.header('origin')
  const site = c.req.header('sec-fetch-site')
  const refuse = (why: string) => c.json(errorBody('ForbiddenOrigin', why), 403)
  if (origin != null && origin.toLowerCase() !== self) return refuse(`origin ${JSON.stringify(origin)} is not allowed`)
  if (site != null && site !== 'same-origin') return refuse(`cross-site request (Sec-Fetch-Site: ${site}) refused`)
  if (requireOrigin && origin == null && site == null && c.req.header('cookie') != null) {
    return refuse('a browser request without Origin is refused')
  }
  return undefined
}

/** The session cookie's name: one per port, since cookies do not tell ports apart (two nodes on one host). */
function cookieName(c: Context): string {
  const host = c.req.header('host') ?? ''
  const port = /:(\d+)$/.exec(host)?.[1] ?? '80'
  return `betar_session_${port}`
}

async function serveFile(c: Context, dir: string, relative: string): Promise<Response> {
  const root = normalize(dir.endsWith(sep) ? dir : dir + sep)
  const file = normalize(join(root, relative))
  if (!file.startsWith(root)) return c.json(errorBody('NotFound', 'no such file'), 404)
  let bytes: Buffer
  try {
    bytes = await readFile(file)
  } catch {
    if (relative === 'index.html') {
      return c.text(
        'The dashboard is not built: run `pnpm --filter @betar/full-node build` (or `pnpm build` at the root).',
        503
      )
    }
    return c.json(errorBody('NotFound', 'no such file'), 404)
  }
  const immutable = relative.startsWith('assets/')
  return c.body(new Uint8Array(bytes), 200, {
    'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
    'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-store'
  })
}
