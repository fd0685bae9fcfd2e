/**
 * The OpenAPI paths of the read routes added for the dashboard (`registerDashboardRoutes`), spread into
 * `openApiDocument.paths`.
 */

const json = (schema: Record<string, unknown>) => ({ content: { 'application/json': { schema } } })
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const ok = (description: string, schema: Record<string, unknown>) => ({ description, ...json(schema) })
const error = (description: string) => ({ description, ...json(ref('Error')) })
const authErrors = {
  '401': error('Missing or invalid bearer token'),
  '403': error('Foreign Origin or Host')
}
const upstreamErrors = {
  '500': error('`InternalError`: the node failed (no detail is sent)'),
  '502': error('The chain RPC or a peer failed'),
  '504': error('The chain RPC or a peer did not answer in time')
}
const Amount = { type: 'string', pattern: '^\\d+$', description: 'Atomic USDC units (6 decimals)' }
const Usdc = { type: 'string', description: 'Decimal USDC, e.g. "0.25"' }

export const dashboardOpenApiPaths = {
  '/sales/series': {
    get: {
      operationId: 'salesSeries',
      summary: "This node's sales and earnings over time, per agent, in buckets",
      description:
        'One point per bucket that has an outcome, oldest first, with the running total earned (`cumulative`). ' +
        'At most 10,000 sales are read (newest first; `truncated: true` when more exist) and at most 2,000 buckets.',
      parameters: [
        { name: 'agent', in: 'query', schema: { type: 'string', minLength: 1, maxLength: 128 } },
        { name: 'since', in: 'query', schema: { type: 'integer', minimum: 0 }, description: 'Unix ms, inclusive' },
        { name: 'until', in: 'query', schema: { type: 'integer', minimum: 0 }, description: 'Unix ms, exclusive' },
        {
          name: 'bucket',
          in: 'query',
          schema: { type: 'integer', minimum: 1000, maximum: 86_400_000, default: 60_000 },
          description: 'Bucket width in ms'
        }
      ],
      responses: {
        '200': ok('Series per agent', {
          type: 'object',
          properties: {
            bucket: { type: 'integer' },
            truncated: { type: 'boolean' },
            series: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  agent: { type: 'string' },
                  points: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        at: { type: 'integer', description: 'Bucket start, Unix ms' },
                        sold: { type: 'integer' },
                        refunded: { type: 'integer' },
                        failed: { type: 'integer' },
                        earned: Amount,
                        earnedUsdc: Usdc,
                        cumulative: Amount,
                        cumulativeUsdc: Usdc
                      },
                      required: ['at', 'sold', 'refunded', 'failed', 'earned', 'cumulative']
                    }
                  }
                },
                required: ['agent', 'points']
              }
            }
          },
          required: ['bucket', 'series']
        }),
        '400': error('Invalid query (with zod `issues`), or too many buckets'),
        ...authErrors,
        ...upstreamErrors
      }
    }
  },
  '/listings/{id}/verification': {
    get: {
      operationId: 'listingVerification',
      summary: "A listing's ERC-8004 verification, as a buyer checks it before paying (kept one minute)",
      parameters: [
        { name: 'id', in: 'path', required: true, schema: { type: 'string', minLength: 1, maxLength: 256 } }
      ],
      responses: {
        '200': ok('Verdict', {
          type: 'object',
          properties: {
            listingId: { type: 'string' },
            status: { type: 'string', enum: ['verified', 'failed', 'unregistered'] },
            agentId: { type: ['string', 'null'] },
            reasons: {
              type: 'array',
              items: {
                type: 'object',
                properties: { code: { type: 'string' }, message: { type: 'string' } },
                required: ['code', 'message']
              }
            },
            checkedAt: { type: 'integer' }
          },
          required: ['listingId', 'status', 'agentId', 'reasons', 'checkedAt']
        }),
        '404': error('No such listing in the marketplace (`NotFound`)'),
        ...authErrors,
        ...upstreamErrors
      }
    }
  },
  '/reputation/{agentId}/feedback': {
    get: {
      operationId: 'reputationFeedback',
      summary: "An agent's reputation per tag with every feedback behind it (counted, rejected or unverified)",
      parameters: [{ name: 'agentId', in: 'path', required: true, schema: { type: 'string', pattern: '^\\d+$' } }],
      responses: {
        '200': ok('Summary and feedback', {
          type: 'object',
          properties: {
            agentId: { type: 'string' },
            summary: { type: 'object', additionalProperties: ref('TagSummary') },
            feedback: { type: 'array', items: { type: 'object' } }
          },
          required: ['agentId', 'summary', 'feedback']
        }),
        '400': error('Invalid agent id'),
        ...authErrors,
        ...upstreamErrors
      }
    }
  },
  '/node/health': {
    get: {
      operationId: 'nodeHealth',
      summary: "The node's health: uptime, peers, chain RPC, and each sold agent's probe status",
      responses: {
        '200': ok('Health', {
          type: 'object',
          properties: {
            ok: { type: 'boolean', description: 'The chain RPC answered' },
            startedAt: { type: 'integer' },
            uptimeMs: { type: 'integer' },
            peerId: { type: 'string' },
            network: { type: 'string' },
            peers: { type: 'integer' },
            connections: { type: 'integer' },
            listings: { type: 'integer' },
            chain: { type: 'object' },
            agents: { type: 'array', items: { type: 'object' } },
            memory: { type: 'object' }
          },
          required: ['ok', 'uptimeMs', 'peers', 'chain', 'agents']
        }),
        ...authErrors
      }
    }
  }
} as const
