/**
 * @packageDocumentation
 *
 * The full node's local REST API for apps on the same machine: loopback-only by default, bearer-token auth,
 * no wildcard CORS, zod-validated input and an OpenAPI 3.1 description.
 */

export { type ApiOptions, createApi, MAX_BODY_BYTES } from './app.ts'
export { createApiToken } from './auth.ts'
export { type CallView, callView } from './calls.ts'
export {
  DASHBOARD_CSP,
  type DashboardOptions,
  type DashboardServer,
  DEFAULT_DASHBOARD_DIR,
  withDashboard
} from './dashboard.ts'
export { salesSeries } from './dashboard-routes.ts'
export { ApiError, toHttpError } from './errors.ts'
export { LOOPBACK_HOSTNAMES } from './host.ts'
export type { ApiErrorBody } from './json.ts'
export type { LocalAgents } from './node-routes.ts'
export { openApiDocument } from './openapi.ts'
export { isLoopbackHost, type RunningApi, type StartApiOptions, startApi } from './server.ts'
