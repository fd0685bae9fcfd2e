import { isIP } from 'node:net'
import { serve } from '@hono/node-server'
import type { Hono } from 'hono'

/** Options of {@link startApi}. */
export interface StartApiOptions {
  /** Interface to bind. @default '127.0.0.1' */
  host?: string
  /** @default 0 (any free port) */
  port?: number
  /** Allow binding a non-loopback interface (exposes the API to the network). @default false */
  allowRemote?: boolean
}

/** A listening API server. */
export interface RunningApi {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string
  host: string
  port: number
  close(): Promise<void>
}

/** Whether `host` is a loopback interface (`localhost`, `127.0.0.0/8`, `::1`). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  if (h === 'localhost' || h === '::1') return true
  if (isIP(h) === 4) return h.startsWith('127.')
  if (h.startsWith('::ffff:')) return isIP(h.slice(7)) === 4 && h.slice(7).startsWith('127.')
  return false
}

/**
 * Serves the API with `@hono/node-server`, on 127.0.0.1 and a free port by default. Refuses a non-loopback host
 * unless `allowRemote: true` is passed.
 */
export function startApi(app: Hono, options: StartApiOptions = {}): Promise<RunningApi> {
  const host = options.host ?? '127.0.0.1'
  if (!isLoopbackHost(host) && options.allowRemote !== true) {
    return Promise.reject(new Error(`refusing to serve the API on non-loopback host ${host} without allowRemote: true`))
  }
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port: options.port ?? 0 }, (info) => {
      server.off('error', reject)
      const urlHost = info.family === 'IPv6' || info.address.includes(':') ? `[${info.address}]` : info.address
      resolve({
        url: `http://${urlHost}:${info.port}`,
        host: info.address,
        port: info.port,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((err) => (err != null ? fail(err) : done()))
            if ('closeAllConnections' in server) server.closeAllConnections()
          })
      })
    })
    server.once('error', reject)
  })
}
