import type { MiddlewareHandler } from 'hono'
import { errorBody } from './json.ts'

/** Whether a `Content-Type` header names JSON: `application/json` or `application/*+json`, any parameters. */
export function isJsonContentType(header: string | undefined): boolean {
  if (header == null) return false
  const media = header.split(';')[0]?.trim().toLowerCase() ?? ''
  return media === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(media)
}

/**
 * Refuses with 415 `UnsupportedMediaType` — before any route runs, so before anything is paid — a `POST`, `PUT` or
 * `PATCH` with a body whose `Content-Type` is not JSON: every body this API reads is JSON, and a form or `text/plain`
 * body is what a browser may send cross-site without a preflight.
 */
export function jsonContentType(): MiddlewareHandler {
  return async (c, next) => {
    if (!['POST', 'PUT', 'PATCH'].includes(c.req.method)) return next()
    const type = c.req.header('content-type')
    if (isJsonContentType(type)) return next()
    // No body at all (and no type): nothing to misread; a route that needs a body answers 400.
    if (type == null && !hasBody(c.req.raw)) return next()
    return c.json(
      errorBody(
        'UnsupportedMediaType',
        `request bodies must be JSON: send Content-Type: application/json${type != null ? ` (got "${type.slice(0, 64)}")` : ''}`
      ),
      415
    )
  }
}

function hasBody(req: Request): boolean {
  const length = req.headers.get('content-length')
  if (length != null) return length.trim() !== '0'
  return req.headers.has('transfer-encoding')
}
