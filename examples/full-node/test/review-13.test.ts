import type { BetarNode } from '@betar/node'
import { describe, expect, it } from 'vitest'
import { createApi } from '../src/api/index.ts'

/*
 * Review of issue 13 (hostile peers, same kinds of fault as the issue's): defects found from outside, fixed since.
 */

const TOKEN = 'review-token-0123456789abcdefghijklmnopqrstuvwxyz'
const ID = 'paid-deep'

/** A seller's result body: `depth` nested arrays (`[[[…]]]`), 2 bytes a level. */
function deepArray(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth)
}

/** The REST API over a node stub whose journal holds one paid, finished call whose result body is `result`. */
function apiWithResult(result: string) {
  const entry = {
    correlationId: ID,
    peer: '12D3KooWBAdUmn8JKUy7ogZntEDnJC4FujdWgByHQiMf2PTqe5Eo',
    addresses: [],
    resource: 'summarize',
    body: 'e30=',
    contentType: 'application/json',
    state: 'done',
    createdAt: 1,
    updatedAt: 2,
    requirements: {
      scheme: 'exact',
      network: 'eip155:31337',
      amount: '10000',
      asset: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
      payTo: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      maxTimeoutSeconds: 60,
      extra: { name: 'USDC', version: '2' }
    },
    result: { body: Buffer.from(result).toString('base64'), contentType: 'application/json' },
    payment: { payer: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' },
    metadata: { capability: 'summarize', listing: { id: 'summarize' } }
  }
  const node = {
    peerId: '12D3KooWNode',
    multiaddrs: () => [],
    libp2p: { getPeers: () => [], getConnections: () => [] },
    network: {
      name: 'devnet',
      chainId: 31337,
      caip2: 'eip155:31337',
      rpcUrl: 'http://127.0.0.1:1',
      usdc: { address: '0x5FbDB2315678afecb367f032d93F642f64180aa3', decimals: 6 },
      erc8004: { identityRegistry: '0x8004A818BFB912233c491871b3d84c89A494BD9e' }
    },
    wallet: { address: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' },
    services: {
      market: { find: () => [], findSellers: async () => [] },
      // A finished call as the x402 client returns it on resume: the seller's result body, no settlement.
      x402Client: {
        resume: async () => ({ correlationId: ID, body: new TextEncoder().encode(result), amount: 10000n })
      }
    },
    journal: {
      get: async (id: string) => (id === ID ? entry : undefined),
      list: async () => [],
      put: async () => {}
    },
    feedback: { get: async () => undefined },
    sales: { list: async () => [], earnings: async () => [] },
    usdcBalance: async () => 0n
  } as unknown as BetarNode
  return createApi(node, { token: TOKEN })
}

function getCall(app: ReturnType<typeof createApi>): Promise<Response> {
  return Promise.resolve(
    app.request(`http://127.0.0.1/calls/${ID}`, {
      headers: { authorization: `Bearer ${TOKEN}`, host: '127.0.0.1' }
    })
  )
}

function postResume(app: ReturnType<typeof createApi>): Promise<Response> {
  return Promise.resolve(
    app.request('http://127.0.0.1/calls', {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, host: '127.0.0.1', 'content-type': 'application/json' },
      body: JSON.stringify({ correlationId: ID })
    })
  )
}

describe('review 13: a seller-controlled result body read by the buyer node', () => {
  it('control: a shallow JSON result is shown as the call output', async () => {
    const res = await getCall(apiWithResult('{"summary":"ok"}'))
    expect(res.status).toBe(200)
    expect(((await res.json()) as { output: unknown }).output).toEqual({ summary: 'ok' })
  })

  /*
   * Defect (same kind as issue 13 faults 2/3, on a path the fixes missed): `decodeOutput` in src/api/calls.ts (and the
   * one in src/buyer.ts used by `POST /calls`) reads the seller's result body with a bare `JSON.parse` — no depth bound —
   * and the view is then re-encoded with the recursive `JSON.stringify(value, jsonReplacer)` of `sendJson`. A hostile
   * seller answers a paid call with 20 KB of nested arrays (far under the 4 MiB result limit): `JSON.stringify` throws
   * `RangeError` and the buyer's node answers 500. The buyer has paid; `POST /calls` that bought it answers 500 (no
   * correlation id in the body), and `GET /calls/:id` answers 500 for that call forever (the result is journaled), so
   * the buyer can never read the result they paid for through the API/dashboard.
   * Expected: the output is bounded like every other peer JSON (e.g. shown as text when it nests past 64 levels).
   */
  it('GET /calls/:id of a paid call whose seller answered 10,000-deep JSON answers 200, not 500', async () => {
    const res = await getCall(apiWithResult(deepArray(10_000)))
    const text = await res.text()
    expect(res.status, text.slice(0, 200)).toBe(200)
  })

  /*
   * The same defect through `POST /calls` (resuming the paid call; a fresh purchase takes the same `afterResult` →
   * `decodeOutput` → `sendJson` path): the answer is a 500 `InternalError` without the call's `correlationId`, which
   * every other failure of this route carries so the buyer can resume it. The CLI's `betar call` prints the output with
   * `JSON.stringify(purchase.output, null, 2)` after paying and throws the same `RangeError`.
   */
  it('control: POST /calls resuming a paid call with a shallow result answers it', async () => {
    const res = await postResume(apiWithResult('{"summary":"ok"}'))
    expect(res.status).toBe(200)
    expect(((await res.json()) as { output: unknown }).output).toEqual({ summary: 'ok' })
  })

  it('POST /calls resuming a paid call whose result nests 10,000 deep answers the call, not 500', async () => {
    const res = await postResume(apiWithResult(deepArray(10_000)))
    const text = await res.text()
    expect(res.status, text.slice(0, 200)).toBeLessThan(500)
  })
})
