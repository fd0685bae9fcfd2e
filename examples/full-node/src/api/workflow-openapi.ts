/**
 * The OpenAPI paths of the workflow routes (`registerWorkflowRoutes`), spread into `openApiDocument.paths`. Schemas are
 * inline so that this file is the whole description of the feature.
 */

const json = (schema: Record<string, unknown>) => ({ content: { 'application/json': { schema } } })
const ok = (description: string, schema: Record<string, unknown>) => ({ description, ...json(schema) })
const error = (description: string) => ({ description, ...json({ $ref: '#/components/schemas/Error' }) })
const authErrors = {
  '401': error('Missing or invalid bearer token'),
  '403': error('Foreign Origin or Host')
}
const bodyErrors = {
  '400': error('Invalid JSON or input (with zod `issues`)'),
  '413': error('Body larger than 64 KiB'),
  '415': error('`Content-Type` is not JSON (`UnsupportedMediaType`)')
}
const Amount = { type: 'string', pattern: '^\\d+$', description: 'Atomic USDC units (6 decimals): 250000 = 0.25 USDC' }
const Usdc = { type: 'string', description: 'Decimal USDC, e.g. "0.25"' }
const WorkflowIdParam = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' }
}
const Status = { type: 'string', enum: ['pending', 'running', 'completed', 'failed', 'cancelled'] }

const Definition = {
  type: 'object',
  description:
    "A workflow definition (docs/workflows.md): `budget` and each step's `maxPrice` in atomic units; each step " +
    'names a `capability` or a `listing` (`<seller>/<id>`); `input` templates read `{ "$ref": "/input/…" }` or ' +
    '`{ "$ref": "/steps/<id>/output/…" }` (JSON Pointers). At most 32 steps; cycles are refused.',
  properties: {
    name: { type: 'string', maxLength: 128 },
    input: { description: 'The workflow input (any JSON value)' },
    budget: { oneOf: [Amount, { type: 'integer', minimum: 0 }] },
    concurrency: { type: 'integer', minimum: 1, maximum: 32, default: 4 },
    steps: {
      type: 'array',
      minItems: 1,
      maxItems: 32,
      items: {
        type: 'object',
        properties: {
          id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
          capability: { type: 'string' },
          listing: { type: 'string' },
          input: { description: 'Input template (default: the workflow input)' },
          maxPrice: { oneOf: [Amount, { type: 'integer', minimum: 0 }] },
          after: { type: 'array', items: { type: 'string' } },
          retry: {
            type: 'object',
            properties: {
              maxSellers: { type: 'integer', minimum: 1, maximum: 8, default: 3 },
              attemptsPerSeller: { type: 'integer', minimum: 1, maximum: 5, default: 1 }
            }
          },
          timeoutMs: { type: 'integer', minimum: 100, maximum: 3_600_000 }
        },
        required: ['id', 'maxPrice']
      }
    }
  },
  required: ['budget', 'steps']
}

const Step = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    status: {
      type: 'string',
      enum: ['pending', 'running', 'completed', 'failed', 'skipped', 'cancelled', 'unresolved']
    },
    attempts: {
      type: 'array',
      description: 'Each try on one seller, written before its call (correlation id, listing, cap) with its outcome',
      items: {
        type: 'object',
        properties: {
          correlationId: { type: 'string' },
          listing: { type: 'string' },
          seller: { type: 'string' },
          maxAmount: Amount,
          state: { type: 'string', enum: ['calling', 'paid', 'refunded', 'charged', 'not-paid', 'interrupted'] },
          amount: Amount,
          settlementTx: { type: 'string' },
          refund: { type: 'object' },
          error: { type: 'string' }
        },
        required: ['correlationId', 'listing', 'seller', 'maxAmount', 'state']
      }
    },
    output: { description: "The step's result (JSON, or its text)" },
    resultHash: { type: 'string', description: '0x SHA-256 of the result bytes' },
    error: { type: 'string' }
  },
  required: ['id', 'status', 'attempts']
}

const Workflow = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    status: Status,
    definition: Definition,
    definitionHash: { type: 'string' },
    budget: Amount,
    budgetUsdc: Usdc,
    spent: { ...Amount, description: 'Settled calls minus refunds, atomic units' },
    spentUsdc: Usdc,
    steps: { type: 'object', additionalProperties: Step },
    receipt: { type: 'array', items: { type: 'object' } },
    parent: { type: 'object', description: 'A sub-contract: what the buyer paid and the margin kept' },
    error: { type: 'string' },
    createdAt: { type: 'integer' },
    updatedAt: { type: 'integer' }
  },
  required: ['id', 'status', 'definition', 'budget', 'spent', 'steps', 'receipt', 'createdAt', 'updatedAt']
}

const Receipt = {
  type: 'object',
  description:
    "The hash chain of the workflow's settled payments; verify it offline with `verifyWorkflowReceipt` " +
    '(@betar/workflow), which also reads every transfer on-chain.',
  properties: {
    v: { const: 1 },
    workflowId: { type: 'string' },
    definitionHash: { type: 'string' },
    network: { type: 'string' },
    asset: { type: 'string' },
    budget: Amount,
    spent: Amount,
    status: Status,
    genesis: { type: 'string' },
    entries: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          seq: { type: 'integer' },
          stepId: { type: 'string' },
          correlationId: { type: 'string' },
          listing: { type: 'string' },
          seller: { type: 'string' },
          resource: { type: 'string' },
          payer: { type: 'string' },
          payTo: { type: 'string' },
          price: Amount,
          settlementTx: { type: 'string' },
          outcome: { type: 'string', enum: ['result', 'refunded', 'charged'] },
          resultHash: { type: 'string' },
          refund: { type: 'object', properties: { transaction: { type: 'string' }, amount: Amount } },
          prev: { type: 'string' },
          hash: { type: 'string' }
        },
        required: ['seq', 'stepId', 'listing', 'seller', 'price', 'settlementTx', 'outcome', 'prev', 'hash']
      }
    },
    head: { type: 'string' }
  },
  required: ['v', 'workflowId', 'definitionHash', 'genesis', 'entries', 'head', 'spent']
}

const notFound = { '404': error('Unknown workflow (`WorkflowNotFoundError`)') }

export const workflowOpenApiPaths = {
  '/workflows': {
    post: {
      operationId: 'submitWorkflow',
      summary: 'Validates a workflow, reserves its budget, stores it and starts it (202)',
      description:
        'Nothing is paid before every step has a listing within its cap (and, for steps reading only the input, one ' +
        "whose input schema accepts it). The budget is reserved against the node's x402 budget (402 " +
        '`WorkflowBudgetError`). Follow it with GET /workflows/{id}; it resumes by itself after a restart.',
      requestBody: {
        required: true,
        ...json({
          type: 'object',
          properties: { definition: Definition, id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } },
          required: ['definition']
        })
      },
      responses: {
        '202': ok('Stored and started', Workflow),
        ...bodyErrors,
        '402': error('`WorkflowBudgetError`: the budget exceeds what the x402 budget has left'),
        '409': error('`WorkflowStateError`: a workflow with this id exists'),
        ...authErrors
      }
    },
    get: {
      operationId: 'workflows',
      summary: 'Workflows of this node, newest first',
      parameters: [
        { name: 'status', in: 'query', schema: Status },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } }
      ],
      responses: {
        '200': ok('Workflows', {
          type: 'object',
          properties: {
            workflows: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  id: { type: 'string' },
                  name: { type: 'string' },
                  status: Status,
                  budget: Amount,
                  spent: Amount,
                  steps: { type: 'integer' },
                  completed: { type: 'integer' },
                  createdAt: { type: 'integer' },
                  updatedAt: { type: 'integer' }
                },
                required: ['id', 'status', 'budget', 'spent', 'steps', 'completed', 'createdAt', 'updatedAt']
              }
            }
          },
          required: ['workflows']
        }),
        '400': error('Invalid query'),
        ...authErrors
      }
    }
  },
  '/workflows/{id}': {
    get: {
      operationId: 'getWorkflow',
      summary: 'One workflow: status, steps with their attempts and outputs, spend, receipt chain',
      parameters: [WorkflowIdParam],
      responses: { '200': ok('The workflow', Workflow), '400': error('Invalid id'), ...notFound, ...authErrors }
    }
  },
  '/workflows/{id}/cancel': {
    post: {
      operationId: 'cancelWorkflow',
      summary: 'Cancels a workflow: steps not started never run, calls in flight are aborted',
      description: 'A call whose payment was already signed is re-asked once, so the record says what it cost.',
      parameters: [WorkflowIdParam],
      responses: { '200': ok('The final record', Workflow), '400': error('Invalid id'), ...notFound, ...authErrors }
    }
  },
  '/workflows/{id}/resume': {
    post: {
      operationId: 'resumeWorkflow',
      summary:
        'Runs a stopped workflow again (`running`, or `failed` with an unresolved step): paid steps are re-asked',
      parameters: [WorkflowIdParam],
      responses: {
        '202': ok('Started again', Workflow),
        '400': error('Invalid id'),
        ...notFound,
        '409': error('`WorkflowStateError`: already running, or nothing to resume'),
        ...authErrors
      }
    }
  },
  '/workflows/{id}/receipt': {
    get: {
      operationId: 'workflowReceipt',
      summary: "The workflow's receipt chain (export it as JSON and verify it against the chain)",
      parameters: [WorkflowIdParam],
      responses: { '200': ok('The receipt', Receipt), '400': error('Invalid id'), ...notFound, ...authErrors }
    }
  }
}
