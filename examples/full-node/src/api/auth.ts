import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { errorBody } from './json.ts'

/** A fresh API token: 32 random bytes, base64url. */
export function createApiToken(): string {
  return randomBytes(32).toString('base64url')
}

/** Compares two secrets in constant time (both are hashed first, so their lengths do not leak either). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest()
  const hb = createHash('sha256').update(b).digest()
  return timingSafeEqual(ha, hb)
}

/** Requires `Authorization: Bearer <token>` on every request except `GET /health`: 401 otherwise. */
export function bearerAuth(token: string): MiddlewareHandler {
  if (token.length < 16) throw new Error('API token must be at least 16 characters (use createApiToken())')
  return async (c, next) => {
    if (c.req.method === 'GET' && c.req.path === '/health') return next()
    const header = c.req.header('authorization') ?? ''
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
    if (match?.[1] == null || !safeEqual(match[1], token)) {
      c.header('WWW-Authenticate', 'Bearer')
      return c.json(errorBody('Unauthorized', 'missing or invalid bearer token'), 401)
    }
    return next()
  }
}
