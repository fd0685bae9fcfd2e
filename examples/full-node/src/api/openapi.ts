/**
 * The OpenAPI 3.1 description of the local API, written by hand. Every route of `createApi` appears here and nothing
 * else (a test compares both).
 */
import { dashboardOpenApiPaths } from './dashboard-openapi.ts'
import { workflowOpenApiPaths } from './workflow-openapi.ts'

const json = (schema: Record<string, unknown>) => ({ content: { 'application/json': { schema } } })
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const ok = (description: string, schema: Record<string, unknown>) => ({ description, ...json(schema) })
const error = (description: string) => ({ description, ...json(ref('Error')) })

const authErrors = {
  '401': error('Missing or invalid bearer token'),
  '403': error('Foreign Origin or Host')
}
const bodyErrors = {
  '400': error('Invalid JSON or input (with zod `issues`)'),
  '413': error('Body larger than 64 KiB'),
  '415': error('`Content-Type` is not JSON (`UnsupportedMediaType`): refused before anything runs or is paid')
}
/** What any route may answer when the chain or a peer fails (typed, never a library's own message). */
const upstreamErrors = {
  '500': error('`InternalError`: the node failed (no detail is sent)'),
  '502': error(
    'The chain RPC or a peer failed: `ChainUnavailable`, `ChainError`, `ContractReverted`, `PeerUnreachable`'
  ),
  '504': error('The chain RPC or a peer did not answer in time: `ChainTimeout`, `Timeout`')
}

const Amount = { type: 'string', pattern: '^\\d+$', description: 'Atomic USDC units (6 decimals): 250000 = 0.25 USDC' }
const Usdc = {
  type: 'string',
  pattern: '^\\d{1,24}(\\.\\d{1,6})?$',
  description: 'Decimal USDC, as the CLI takes and shows it: "0.25"',
  examples: ['0.25']
}
const CorrelationId = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' }
const AmountInput = {
  oneOf: [Amount, { type: 'integer', minimum: 0 }],
  description: 'Atomic USDC units, as a decimal string or an integer'
}

/** The OpenAPI 3.1 document served at `GET /openapi.json`. */
export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Betar full node local API',
    version: '2.0.0',
    description:
      'REST API for apps on the same machine. Loopback only by default; every route but GET /health needs ' +
      '`Authorization: Bearer <token>`; browser origins must be allow-listed.'
  },
  security: [{ bearer: [] }],
  paths: {
    '/health': {
      get: {
        operationId: 'health',
        summary: 'Liveness (no token needed)',
        security: [],
        responses: { '200': ok('Alive', { type: 'object', properties: { ok: { const: true } }, required: ['ok'] }) }
      }
    },
    '/status': {
      get: {
        operationId: 'status',
        summary: 'Peer id, listen addresses, network and wallet',
        responses: { '200': ok('Node status', ref('Status')), ...authErrors }
      }
    },
    '/peers': {
      get: {
        operationId: 'peers',
        summary: 'Connected peers',
        responses: {
          '200': ok('Connected peers', {
            type: 'object',
            properties: { peers: { type: 'array', items: ref('Peer') } },
            required: ['peers']
          }),
          ...authErrors
        }
      }
    },
    '/agents': {
      get: {
        operationId: 'agents',
        summary: 'Agents sold by this node',
        responses: {
          '200': ok('Local agents', {
            type: 'object',
            properties: {
              agents: {
                type: 'array',
                items: { type: 'object', properties: { name: { type: 'string' }, info: {} }, required: ['name'] }
              }
            },
            required: ['agents']
          }),
          ...authErrors
        }
      }
    },
    '/listings': {
      get: {
        operationId: 'listings',
        summary: 'Live marketplace listings known to this node, cheapest first',
        parameters: [
          { name: 'capability', in: 'query', schema: { type: 'string', maxLength: 128 } },
          { name: 'maxPrice', in: 'query', description: 'Decimal USDC, e.g. 0.25', schema: Usdc },
          {
            name: 'maxPriceAtomic',
            in: 'query',
            description: 'The same cap in atomic units (not with maxPrice)',
            schema: Amount
          },
          { name: 'text', in: 'query', schema: { type: 'string', maxLength: 256 } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } }
        ],
        responses: { '200': ok('Listings', ref('Listings')), '400': bodyErrors['400'], ...authErrors }
      }
    },
    '/discover': {
      post: {
        operationId: 'discover',
        summary: 'Finds sellers of a capability through the DHT and syncs their listings',
        requestBody: {
          required: true,
          ...json({
            type: 'object',
            properties: { capability: { type: 'string', minLength: 1, maxLength: 128 } },
            required: ['capability'],
            additionalProperties: false
          })
        },
        description:
          'With no connected peer nothing can be searched: the answer holds the listings already known, ' +
          '`connectedPeers: 0` and a warning saying how to reach peers (`betar start --bootstrap <multiaddr>` or `--mdns`).',
        responses: {
          '200': ok('Listings of other sellers', ref('Listings')),
          ...bodyErrors,
          ...authErrors,
          ...upstreamErrors
        }
      }
    },
    '/calls': {
      post: {
        operationId: 'call',
        summary:
          'Buys one job (discover, verify, pay over x402, run, rate), or resumes a journaled call by correlationId',
        description:
          'Every call is journaled in the node datastore under its correlationId (chosen by the caller, else random) ' +
          'before anything is signed, with its result on arrival. Send `{ correlationId }` alone — or the same ' +
          'correlationId again — to resume a call that was interrupted (504): the stored result, or a re-ask with the ' +
          'payment already signed; it never pays twice. A task that fails on the seller is refunded on-chain (or never ' +
          'charged): 502 with `charged` and `refund`. Feedback never withholds the result: it is given after, or ' +
          'queued (`feedback.state: pending`, `warnings`) and retried in the background.',
        requestBody: {
          required: true,
          ...json({
            type: 'object',
            properties: {
              capability: { type: 'string', minLength: 1, maxLength: 128 },
              input: { description: "The agent's input (any JSON value)" },
              maxPrice: { ...Usdc, description: 'Most to pay, decimal USDC like the CLI\'s --max-price: "0.25"' },
              maxPriceAtomic: {
                ...AmountInput,
                description: 'The same cap in atomic units (250000 = 0.25 USDC); give maxPrice or this, not both'
              },
              rating: { type: 'integer', minimum: 0, maximum: 100, default: 100 },
              minScore: { type: 'number', minimum: 0, maximum: 100 },
              feedbackStorage: {
                type: 'string',
                enum: ['data-uri', 'node'],
                default: 'data-uri',
                description:
                  'Where the feedback file goes: `data-uri` (in the transaction: verifiable from chain data alone) or ' +
                  "`node` (an ipfs:// block served by this node's Helia while it runs)"
              },
              correlationId: CorrelationId
            },
            description:
              'A new call needs capability, input and maxPrice (or maxPriceAtomic); a resume needs correlationId only. ' +
              'Before version 2 of this API `maxPrice` was atomic units: send those as `maxPriceAtomic` now.',
            additionalProperties: false
          })
        },
        responses: {
          '200': ok('A journaled call resumed (its stored or re-asked result)', ref('Call')),
          '201': ok('Paid and completed call', ref('Call')),
          ...bodyErrors,
          ...authErrors,
          '402': error(
            'Payment not approved, over budget, or the wallet holds too little USDC (`InsufficientFundsError` with ' +
              '`address`, `balanceAtomic`, `requiredAtomic`): refused before anything is signed'
          ),
          '404': error(
            'No seller offers the capability within maxPrice (`NoSellerError` with `connectedPeers`; with 0 the ' +
              'message says how to reach peers), or no journaled call to resume'
          ),
          '409': error("The agent's reputation is below minScore, or the correlationId names another call"),
          '422': error(
            'The listing failed ERC-8004 verification (with `reasons`), or the seller refused the input before payment (`InvalidInput`)'
          ),
          '500': upstreamErrors['500'],
          '502': error(
            "The agent's task failed (`ExecutionFailedError` with `charged`, `refund`), another x402 error (`codeName`), " +
              'the seller could not be reached (`PeerUnreachable`) or the chain failed (`ChainUnavailable`, `ChainError`)'
          ),
          '504': error(
            'Paid, but no outcome could be read yet (`PaymentInterruptedError`): resume with the correlationId'
          )
        }
      },
      get: {
        operationId: 'listCalls',
        summary: "This node's calls as a buyer, newest first (from the journal: they survive restarts)",
        parameters: [
          {
            name: 'state',
            in: 'query',
            schema: { type: 'string', enum: ['prepared', 'sent', 'done', 'refunded', 'failed'] }
          },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
          {
            name: 'before',
            in: 'query',
            description: 'Only calls created before (ms since epoch): the `next` cursor',
            schema: { type: 'integer', minimum: 0 }
          }
        ],
        responses: {
          '200': ok('Calls (without their output)', {
            type: 'object',
            properties: {
              calls: { type: 'array', items: ref('Call') },
              next: { type: 'integer', description: 'Cursor for the next page (`before`)' }
            },
            required: ['calls']
          }),
          ...bodyErrors,
          ...authErrors
        }
      }
    },
    '/calls/{correlationId}': {
      get: {
        operationId: 'getCall',
        summary: 'One call from the journal, with its output (survives restarts)',
        parameters: [{ name: 'correlationId', in: 'path', required: true, schema: CorrelationId }],
        responses: { '200': ok('The call', ref('Call')), ...bodyErrors, '404': error('Unknown call'), ...authErrors }
      }
    },
    '/wallet': {
      get: {
        operationId: 'wallet',
        summary: "The node wallet's address and USDC balance",
        responses: {
          '200': ok('Wallet', {
            type: 'object',
            properties: {
              address: { type: 'string' },
              usdc: {
                type: 'object',
                properties: {
                  asset: { type: 'string' },
                  decimals: { type: 'integer' },
                  balance: Amount,
                  balanceUsdc: Usdc,
                  formatted: { type: 'string', description: 'e.g. "1.25 USDC"' }
                },
                required: ['asset', 'decimals', 'balance', 'balanceUsdc', 'formatted']
              }
            },
            required: ['address', 'usdc']
          }),
          ...authErrors,
          ...upstreamErrors
        }
      }
    },
    '/reputation/{agentId}': {
      get: {
        operationId: 'reputation',
        summary: "An ERC-8004 agent's reputation, per tag",
        parameters: [{ name: 'agentId', in: 'path', required: true, schema: { type: 'string', pattern: '^\\d+$' } }],
        responses: {
          '200': ok('Reputation summary', {
            type: 'object',
            properties: {
              agentId: { type: 'string' },
              summary: { type: 'object', additionalProperties: ref('TagSummary') }
            },
            required: ['agentId', 'summary']
          }),
          '400': bodyErrors['400'],
          '404': error('No agent has this id on the Identity Registry (`AgentNotFound`)'),
          ...authErrors,
          ...upstreamErrors
        }
      }
    },
    '/faucet': {
      post: {
        operationId: 'faucet',
        summary: "Devnet only: mints USDC and adds ETH to an address (default: this node's wallet)",
        description:
          "The same as `betar-devnet fund`: real devnet USDC minted by the token's master minter, ETH set with " +
          '`anvil_setBalance` (added to the balance). On any other network: 403 `FaucetUnavailable`.',
        requestBody: {
          required: true,
          ...json({
            type: 'object',
            properties: {
              address: { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$', description: "Default: the node's wallet" },
              usdc: { ...Usdc, description: 'USDC to mint, decimal, at most 1000000', default: '100' },
              eth: {
                type: 'string',
                pattern: '^\\d{1,6}(\\.\\d{1,18})?$',
                description: 'ETH to add, decimal, at most 1000',
                default: '1'
              }
            },
            additionalProperties: false
          })
        },
        responses: {
          '200': ok('Funded', ref('Funded')),
          ...bodyErrors,
          ...authErrors,
          '403': error('Foreign Origin or Host, or not the devnet (`FaucetUnavailable`)'),
          ...upstreamErrors
        }
      }
    },
    '/sales': {
      get: {
        operationId: 'sales',
        summary: 'What this node sold as a seller, newest first, and its earnings per agent',
        description:
          "Every paid call's outcome from the node's datastore (it survives restarts): `sold` (paid and answered), " +
          '`refunded` (the task failed and the payment went back, with the refund transaction) or `failed` (nothing ' +
          'was charged). `earnings` counts every outcome of the period (`since`/`until`, `agent`), whatever `limit`.',
        parameters: [
          { name: 'agent', in: 'query', schema: { type: 'string', minLength: 1, maxLength: 128 } },
          { name: 'outcome', in: 'query', schema: { type: 'string', enum: ['sold', 'refunded', 'failed'] } },
          { name: 'since', in: 'query', schema: { type: 'integer', minimum: 0 }, description: 'Unix ms, inclusive' },
          { name: 'until', in: 'query', schema: { type: 'integer', minimum: 0 }, description: 'Unix ms, exclusive' },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } }
        ],
        responses: {
          '200': ok('Sales and earnings', {
            type: 'object',
            properties: {
              sales: { type: 'array', items: ref('Sale') },
              earnings: { type: 'array', items: ref('AgentEarnings') }
            },
            required: ['sales', 'earnings']
          }),
          '400': error('Invalid query (with zod `issues`)'),
          ...authErrors,
          ...upstreamErrors
        }
      }
    },
    ...dashboardOpenApiPaths,
    ...workflowOpenApiPaths,
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        summary: 'This document',
        responses: { '200': ok('OpenAPI 3.1 document', { type: 'object' }), ...authErrors }
      }
    }
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Sale: {
        type: 'object',
        properties: {
          outcome: { type: 'string', enum: ['sold', 'refunded', 'failed'] },
          agent: { type: 'string', description: 'The x402 resource (agent name)' },
          buyer: { type: 'string', description: "The buyer's libp2p peer id" },
          payer: { type: 'string', description: "The buyer's paying address" },
          correlationId: CorrelationId,
          amount: Amount,
          amountUsdc: Usdc,
          asset: { type: 'string' },
          network: { type: 'string', description: 'CAIP-2' },
          transaction: { type: 'string', description: 'The settlement transaction (sold, refunded)' },
          refundTransaction: { type: 'string', description: 'The refund transaction (refunded)' },
          durationMs: { type: 'integer', description: 'From verification to the outcome, when one process saw both' },
          reason: { type: 'string', description: "Why it failed: `CODE: message` (never the handler's own words)" },
          at: { type: 'integer', description: 'Unix ms of the outcome' }
        },
        required: ['outcome', 'agent', 'buyer', 'payer', 'correlationId', 'amount', 'amountUsdc', 'at']
      },
      AgentEarnings: {
        type: 'object',
        properties: {
          agent: { type: 'string' },
          sold: { type: 'integer' },
          refunded: { type: 'integer' },
          failed: { type: 'integer' },
          earned: Amount,
          earnedUsdc: Usdc
        },
        required: ['agent', 'sold', 'refunded', 'failed', 'earned', 'earnedUsdc']
      },
      Error: {
        type: 'object',
        properties: {
          error: {
            type: 'object',
            properties: { name: { type: 'string' }, message: { type: 'string' } },
            required: ['name', 'message'],
            additionalProperties: true
          }
        },
        required: ['error']
      },
      Status: {
        type: 'object',
        properties: {
          peerId: { type: 'string' },
          multiaddrs: { type: 'array', items: { type: 'string' } },
          network: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              chainId: { type: 'integer' },
              caip2: { type: 'string' },
              usdc: { type: 'string' }
            }
          },
          wallet: { type: 'string' }
        },
        required: ['peerId', 'multiaddrs', 'network', 'wallet']
      },
      Peer: {
        type: 'object',
        properties: {
          peerId: { type: 'string' },
          connections: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                remoteAddr: { type: 'string' },
                direction: { enum: ['inbound', 'outbound'] },
                status: { type: 'string' }
              }
            }
          }
        },
        required: ['peerId', 'connections']
      },
      Listing: {
        type: 'object',
        description: 'A signed marketplace listing (see @betar/marketplace-crdt)',
        properties: {
          id: { type: 'string' },
          seller: { type: 'string' },
          multiaddrs: { type: 'array', items: { type: 'string' } },
          resource: { type: 'string' },
          name: { type: 'string' },
          description: { type: 'string' },
          capabilities: { type: 'array', items: { type: 'string' } },
          price: {
            type: 'object',
            description: 'x402 payment requirements as signed (atomic `amount`)',
            properties: { amount: Amount, asset: { type: 'string' }, payTo: { type: 'string' } }
          },
          priceUsdc: { ...Usdc, description: 'price.amount in decimal USDC (added by this API, not signed)' },
          erc8004: { type: 'object', properties: { agentId: { type: 'string' }, agentRegistry: { type: 'string' } } }
        },
        required: ['id', 'seller', 'resource', 'capabilities', 'price']
      },
      Listings: {
        type: 'object',
        properties: {
          listings: { type: 'array', items: ref('Listing') },
          legacy: {
            type: 'array',
            description:
              'GET /listings on a node running the Go marketplace bridge: Go listings, unverified (not signed), ' +
              'each with legacy: true and verified: false; never part of `listings`',
            items: {
              type: 'object',
              properties: {
                legacy: { const: true },
                verified: { const: false },
                key: { type: 'string' },
                agentId: { type: 'string' },
                resource: { type: 'string' },
                name: { type: 'string' },
                seller: { type: 'string', description: 'the peer that signed the announcement or answered the pull' },
                price: { type: 'number', description: "Go's float64 USDC" },
                priceAtomic: Amount,
                priceUsdc: Usdc,
                multiaddrs: { type: 'array', items: { type: 'string' } },
                expiresAt: { type: 'integer' }
              }
            }
          },
          connectedPeers: { type: 'integer', description: 'POST /discover: 0 when the node knows no peers' },
          warnings: { type: 'array', items: { type: 'string' }, description: 'POST /discover: how to reach peers' }
        },
        required: ['listings']
      },
      Call: {
        type: 'object',
        properties: {
          correlationId: CorrelationId,
          state: {
            type: 'string',
            enum: ['prepared', 'sent', 'done', 'refunded', 'failed'],
            description:
              '`sent`: paid, outcome not known yet (resume it); `done`: result stored; `refunded`: the task failed and ' +
              'the payment came back; `failed`: ended without a result (see `charged`); `prepared`: never signed'
          },
          capability: { type: ['string', 'null'] },
          createdAt: { type: 'integer', description: 'ms since epoch' },
          updatedAt: { type: 'integer', description: 'ms since epoch' },
          listing: {
            type: ['object', 'null'],
            properties: {
              id: { type: 'string' },
              seller: { type: 'string' },
              resource: { type: 'string' },
              name: { type: 'string' },
              agentId: { type: ['string', 'null'] }
            }
          },
          seller: { type: 'string', description: "The seller's peer id" },
          amountUsdc: { ...Usdc, type: ['string', 'null'], description: 'The price paid (or to pay), decimal USDC' },
          amountAtomic: { ...Amount, type: ['string', 'null'], description: 'The same in atomic units' },
          amount: {
            ...Amount,
            type: ['string', 'null'],
            deprecated: true,
            description: 'amountAtomic (older clients)'
          },
          payTo: { type: ['string', 'null'] },
          charged: {
            type: ['boolean', 'null'],
            description: 'Whether the buyer is out of the amount (null while the outcome is not known)'
          },
          output: { description: "The agent's output (only on a single call, once done)" },
          settlement: {
            type: ['object', 'null'],
            properties: {
              transaction: { type: 'string' },
              network: { type: 'string' },
              payer: { type: ['string', 'null'] },
              check: { type: ['string', 'null'], enum: ['verified', 'unconfirmed', 'unchecked', null] }
            }
          },
          refund: {
            type: ['object', 'null'],
            properties: {
              transaction: { type: 'string' },
              amount: Amount,
              amountUsdc: Usdc,
              check: { type: 'string', enum: ['verified', 'unconfirmed', 'unchecked'] }
            }
          },
          error: {
            type: ['object', 'null'],
            properties: { name: { type: 'string' }, code: { type: 'integer' }, message: { type: 'string' } }
          },
          feedback: {
            type: 'object',
            properties: {
              state: { type: 'string', enum: ['given', 'pending', 'none'] },
              transaction: { type: 'string' },
              feedbackURI: { type: 'string' },
              feedbackIndex: { type: 'string' },
              lastError: { type: 'string', description: 'Why the last attempt failed (pending feedback is retried)' }
            },
            required: ['state']
          },
          warnings: { type: 'array', items: { type: 'string' }, description: 'POST /calls only' }
        },
        required: [
          'correlationId',
          'state',
          'capability',
          'createdAt',
          'updatedAt',
          'listing',
          'seller',
          'amountUsdc',
          'amountAtomic',
          'amount',
          'payTo',
          'charged',
          'settlement',
          'refund',
          'error',
          'feedback'
        ]
      },
      Funded: {
        type: 'object',
        properties: {
          address: { type: 'string' },
          usdc: {
            type: 'object',
            properties: {
              added: Usdc,
              balance: Usdc,
              addedAtomic: Amount,
              balanceAtomic: Amount,
              transaction: { type: ['string', 'null'], description: 'The mint transaction' }
            }
          },
          eth: {
            type: 'object',
            properties: {
              added: { type: 'string' },
              balance: { type: 'string' },
              addedWei: { type: 'string' },
              balanceWei: { type: 'string' }
            }
          }
        },
        required: ['address', 'usdc', 'eth']
      },
      TagSummary: {
        type: 'object',
        properties: {
          score: { type: ['number', 'null'] },
          count: { type: 'integer' },
          entries: { type: 'integer' },
          paidVolume: Amount,
          weight: { type: 'number' },
          confidence: { type: 'number' },
          unverified: {
            type: 'integer',
            description:
              'Feedback whose file could not be loaded now (e.g. held only by an offline peer): not in the score, reported here'
          }
        }
      }
    }
  }
} as const
