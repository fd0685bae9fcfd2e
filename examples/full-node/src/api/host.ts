import type { MiddlewareHandler } from 'hono'
import { errorBody } from './json.ts'

/** Host names a loopback-bound API answers to. */
export const LOOPBACK_HOSTNAMES: readonly string[] = ['127.0.0.1', 'localhost', '[::1]']

/**
 * DNS-rebinding guard: refuses (403) requests whose `Host` header names anything but `allowedHosts` (host names,
 * any port). A page that rebinds its own domain to 127.0.0.1 still sends its domain as `Host`.
 */
export function hostPolicy(allowedHosts: readonly string[] = LOOPBACK_HOSTNAMES): MiddlewareHandler {
  const allowed = new Set(allowedHosts.map((h) => h.toLowerCase()))
  return async (c, next) => {
    const host = c.req.header('host')
    const hostname = host == null ? undefined : hostnameOf(host)
    if (hostname == null || !allowed.has(hostname)) {
      return c.json(errorBody('ForbiddenHost', `host ${JSON.stringify(host ?? '')} is not allowed`), 403)
    }
    return next()
  }
}

function hostnameOf(host: string): string {
  const h = host.trim().toLowerCase()
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1)
  const colon = h.lastIndexOf(':')
  return colon === -1 ? h : h.slice(0, colon)
}
