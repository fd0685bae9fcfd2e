/** The dashboard's client of the node's REST API, through `/dashboard/api` (session cookie; never the token). */

export const BASE = '/dashboard'

/** A failed request, with the API's typed error name (`NoSession`, `ForbiddenOrigin`, `InsufficientFunds`, …). */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    override readonly name: string,
    message: string,
    readonly body?: unknown
  ) {
    super(message)
  }
}

type Listener = (failure: ApiFailure) => void
const authListeners = new Set<Listener>()

/** Called on every 401 / 403 the API answers, so the app can show the sign-in screen or the refusal. */
export function onAuthFailure(listener: Listener): () => void {
  authListeners.add(listener)
  return () => authListeners.delete(listener)
}

async function failureOf(res: Response): Promise<ApiFailure> {
  let body: unknown
  try {
    body = await res.json()
  } catch {
    body = undefined
  }
  const error = (body as { error?: { name?: string; message?: string } } | undefined)?.error
  return new ApiFailure(res.status, error?.name ?? `HTTP${res.status}`, error?.message ?? res.statusText, body)
}

/** Calls `path` of the REST API (e.g. `/listings?capability=x`) and returns its JSON body; throws {@link ApiFailure}. */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  let res: Response
  try {
    res = await fetch(`${BASE}/api${path}`, {
      method: init.method ?? 'GET',
      credentials: 'same-origin',
      headers: {
        'X-Betar-Dashboard': '1',
        ...(init.body !== undefined ? { 'Content-Type': 'application/json' } : {})
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {})
    })
  } catch {
    throw new ApiFailure(0, 'NodeUnreachable', 'the node does not answer (stopped?)')
  }
  if (!res.ok) {
    const failure = await failureOf(res)
    if (failure.status === 401 || failure.name === 'ForbiddenOrigin' || failure.name === 'ForbiddenHost') {
      for (const l of authListeners) l(failure)
    }
    throw failure
  }
  return (await res.json()) as T
}

/** Exchanges a one-time login code or the API token for the session cookie. */
export async function signIn(credential: { code: string } | { token: string }): Promise<void> {
  const res = await fetch(`${BASE}/session`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(credential)
  })
  if (!res.ok) throw await failureOf(res)
}

export async function signOut(): Promise<void> {
  await fetch(`${BASE}/session`, { method: 'DELETE', credentials: 'same-origin' })
}

// --- shapes of the API's answers (the parts the dashboard shows) ---

export interface Status {
  peerId: string
  multiaddrs: string[]
  network: { name: string; chainId: number; caip2: string; usdc: string }
  wallet: string
}

export interface Listing {
  id: string
  name: string
  description?: string
  seller: string
  capabilities: string[]
  price: { amount: string; asset: string; payTo: string }
  priceUsdc: string
  erc8004?: { agentId: string; agentRegistry: string }
  updatedAt?: number
}

export interface Verification {
  listingId: string
  status: 'verified' | 'failed' | 'unregistered'
  agentId: string | null
  reasons: Array<{ code: string; message: string }>
}

export interface TagSummary {
  score: number | null
  count: number
  confidence: number
  unverified: number
  paidVolume?: string
}

export interface Call {
  correlationId: string
  state: 'prepared' | 'sent' | 'done' | 'refunded' | 'failed'
  capability: string | null
  createdAt: number
  updatedAt: number
  listing: { name: string; agentId: string | null } | null
  seller: string
  amountUsdc: string | null
  charged: boolean | null
  output?: unknown
  settlement: { transaction: string; check: string | null } | null
  refund: { transaction: string; amountUsdc: string } | null
  error: { name: string; message: string } | null
  feedback: { state: string; transaction?: string }
  warnings?: string[]
}

export interface Sale {
  outcome: 'sold' | 'refunded' | 'failed'
  agent: string
  buyer: string
  correlationId: string
  amountUsdc: string
  transaction?: string
  refundTransaction?: string
  reason?: string
  at: number
}

export interface Earnings {
  agent: string
  sold: number
  refunded: number
  failed: number
  earnedUsdc: string
}

export interface SeriesPoint {
  at: number
  sold: number
  refunded: number
  failed: number
  earnedUsdc: string
  cumulativeUsdc: string
}

export interface AgentHealth {
  name: string
  listed: boolean
  failures: number
  failedCalls: number
  problem?: string
  checkedAt?: number
}

export interface NodeHealth {
  ok: boolean
  uptimeMs: number
  peers: number
  connections: number
  listings: number
  network: string
  chain: { ok: boolean; blockNumber: string | null; error?: string }
  agents: AgentHealth[]
  memory: { rss: number }
}

export interface Feedback {
  clientAddress: string
  feedbackIndex: string
  value: string
  valueDecimals: number
  tag1: string
  tag2: string
  status: string
  reason?: string
  paid: string
  paymentTx?: string
  transactionHash: string
  timestamp: number
}
