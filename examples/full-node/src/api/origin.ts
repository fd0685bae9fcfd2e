import type { MiddlewareHandler } from 'hono'
import { errorBody } from './json.ts'

const ALLOW_METHODS = 'GET, POST, OPTIONS'
const ALLOW_HEADERS = 'Authorization, Content-Type'

/**
 * Origin policy (no wildcard CORS): a request carrying an `Origin` outside `allowedOrigins` is refused with 403 —
 * preflight or not, token or not. Allowed origins get their own origin echoed back (never `*`) and their preflights
 * answered with 204. Requests without `Origin` (curl, Node, other local apps) pass through.
 */
export function originPolicy(allowedOrigins: readonly string[] = []): MiddlewareHandler {
  const allowed = new Set(allowedOrigins.map(normalizeOrigin))
  if (allowed.has('*') || allowed.has('null'))
    throw new Error('allowedOrigins must list real origins, not "*" or "null"')
  return async (c, next) => {
    const origin = c.req.header('origin')
    if (origin == null) return next()
    if (!allowed.has(normalizeOrigin(origin))) {
      return c.json(errorBody('ForbiddenOrigin', `origin ${JSON.stringify(origin)} is not allowed`), 403)
    }
    c.header('Access-Control-Allow-Origin', origin)
    c.header('Vary', 'Origin')
    if (c.req.method === 'OPTIONS') {
      c.header('Access-Control-Allow-Methods', ALLOW_METHODS)
      c.header('Access-Control-Allow-Headers', ALLOW_HEADERS)
      c.header('Access-Control-Max-Age', '600')
      return c.body(null, 204)
    }
    return next()
  }
}

function normalizeOrigin(origin: string): string {
  return origin.trim().toLowerCase().replace(/\/+$/, '')
}
