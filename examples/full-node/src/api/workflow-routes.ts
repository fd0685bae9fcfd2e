import { type BetarNode, workflowSummary, workflowsOf, workflowView } from '@betar/node'
import {
  WorkflowBudgetError,
  WorkflowDefinitionError,
  WorkflowNotFoundError,
  WorkflowServiceStoppedError,
  WorkflowStateError
} from '@betar/workflow'
import type { Hono } from 'hono'
import { z } from 'zod'
import { ApiError } from './errors.ts'
import { sendJson } from './json.ts'
import { jsonBody, validate } from './schemas.ts'

const WorkflowId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, '1–64 of A-Za-z0-9_-')

/** Body of `POST /workflows`: the definition (checked by `@betar/workflow`) and an optional id. */
export const WorkflowBodySchema = z.strictObject({ definition: z.unknown(), id: WorkflowId.optional() })

/** Query of `GET /workflows`. */
export const WorkflowsQuerySchema = z.strictObject({
  status: z.enum(['pending', 'running', 'completed', 'failed', 'cancelled']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional()
})

/** The workflow errors as API errors (the library's messages are ours: they name steps and amounts, nothing local). */
function workflowError(err: unknown): unknown {
  if (err instanceof WorkflowDefinitionError) {
    return new ApiError(400, err.name, err.message, { issues: err.issues })
  }
  if (err instanceof WorkflowBudgetError) return new ApiError(402, err.name, err.message)
  if (err instanceof WorkflowNotFoundError) return new ApiError(404, err.name, err.message)
  if (err instanceof WorkflowStateError) return new ApiError(409, err.name, err.message)
  if (err instanceof WorkflowServiceStoppedError) return new ApiError(503, err.name, err.message)
  return err
}

async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw workflowError(err)
  }
}

/**
 * Paid multi-agent workflows: `POST /workflows` (validate, reserve the budget, store and start), `GET /workflows`,
 * `GET /workflows/{id}`, `POST /workflows/{id}/cancel`, `POST /workflows/{id}/resume`, `GET /workflows/{id}/receipt`.
 */
export function registerWorkflowRoutes(app: Hono, node: BetarNode): void {
  app.post('/workflows', async (c) => {
    const body = await jsonBody(c, WorkflowBodySchema)
    const record = await guarded(() =>
      workflowsOf(node).submit(body.definition as never, body.id != null ? { id: body.id } : {})
    )
    return sendJson(c, workflowView(record), 202)
  })
  app.get('/workflows', async (c) => {
    const q = validate(WorkflowsQuerySchema, c.req.query())
    const records = await workflowsOf(node).list({
      limit: q.limit ?? 100,
      ...(q.status != null ? { statuses: [q.status] } : {})
    })
    return sendJson(c, { workflows: records.map(workflowSummary) })
  })
  app.get('/workflows/:id', async (c) => {
    const id = validate(WorkflowId, c.req.param('id'))
    const record = await workflowsOf(node).get(id)
    if (record == null) throw new ApiError(404, 'WorkflowNotFoundError', `no workflow ${id}`)
    return sendJson(c, workflowView(record))
  })
  app.post('/workflows/:id/cancel', async (c) => {
    const id = validate(WorkflowId, c.req.param('id'))
    return sendJson(c, workflowView(await guarded(() => workflowsOf(node).cancel(id))))
  })
  app.post('/workflows/:id/resume', async (c) => {
    const id = validate(WorkflowId, c.req.param('id'))
    const service = workflowsOf(node)
    // Starts it again and answers at once; GET /workflows/{id} follows it.
    const running = guarded(() => service.resume(id))
    const first = await Promise.race([running, new Promise<undefined>((r) => setTimeout(r, 50, undefined))])
    running.catch(() => {})
    return sendJson(c, workflowView(first ?? (await service.get(id))!), 202)
  })
  app.get('/workflows/:id/receipt', async (c) => {
    const id = validate(WorkflowId, c.req.param('id'))
    return sendJson(c, await guarded(() => workflowsOf(node).receipt(id)))
  })
}
