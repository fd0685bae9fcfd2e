import type { BetarNode } from '@betar/node'
import { Hono } from 'hono'
import { bearerAuth } from './auth.ts'
import { limitedBody } from './body-limit.ts'
import { jsonContentType } from './content-type.ts'
import { registerDashboardRoutes } from './dashboard-routes.ts'
import { toHttpError } from './errors.ts'
import { registerFaucetRoute } from './faucet-route.ts'
import { hostPolicy, LOOPBACK_HOSTNAMES } from './host.ts'
import { errorBody, sendJson } from './json.ts'
import { registerMarketRoutes } from './market-routes.ts'
import { type LocalAgents, registerNodeRoutes } from './node-routes.ts'
import { openApiDocument } from './openapi.ts'
import { originPolicy } from './origin.ts'
import { registerSalesRoutes } from './sales-routes.ts'
import { registerWorkflowRoutes } from './workflow-routes.ts'

/** Largest request body accepted (413 above). */
export const MAX_BODY_BYTES = 64 * 1024

/** Options of {@link createApi}. */
export interface ApiOptions {
  /** The bearer token every route but `GET /health` requires (see `createApiToken()`). */
  token: string
  /** Local agents sold by this node (name → listing / registration info), read live on each `GET /agents`. */
  agents?: LocalAgents
  /** Browser origins allowed to call the API (exact, e.g. `http://localhost:5173`). None by default. */
  allowedOrigins?: string[]
  /** Host names accepted in the `Host` header (DNS-rebinding guard). @default ['127.0.0.1', 'localhost', '[::1]'] */
  allowedHosts?: string[]
}

/**
 * The node's local REST API as a Hono app: bearer-token auth (constant-time) on everything but `GET /health`, no
 * wildcard CORS (only `allowedOrigins`; any other `Origin` is refused with 403), a Host check against DNS rebinding,
 * zod-validated input (400), 64 KiB bodies (413), JSON bodies only (415) and typed JSON errors
 * `{ error: { name, message } }` that never carry a library's own message (see `toHttpError`).
 */
export function createApi(node: BetarNode, options: ApiOptions): Hono {
  const app = new Hono()

  app.use(hostPolicy(options.allowedHosts ?? LOOPBACK_HOSTNAMES))
  app.use(originPolicy(options.allowedOrigins ?? []))
  app.use(bearerAuth(options.token))
  app.use(
    limitedBody(MAX_BODY_BYTES, (c) =>
      c.json(errorBody('PayloadTooLarge', `request body exceeds ${MAX_BODY_BYTES} bytes`), 413)
    )
  )

  app.use(jsonContentType())

  registerNodeRoutes(app, node, options.agents ?? new Map())
  registerMarketRoutes(app, node)
  registerFaucetRoute(app, node)
  registerSalesRoutes(app, node)
  registerDashboardRoutes(app, node)
  registerWorkflowRoutes(app, node)
  app.get('/openapi.json', (c) => sendJson(c, openApiDocument))

  app.notFound((c) => c.json(errorBody('NotFound', `no route ${c.req.method} ${c.req.path}`), 404))
  app.onError((err, c) => {
    const { status, body } = toHttpError(err)
    return sendJson(c, body, status)
  })
  return app
}
