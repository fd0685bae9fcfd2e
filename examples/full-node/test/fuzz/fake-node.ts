import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { BetarNode } from '@betar/node'
import { CallNotFoundError } from '@betar/x402-libp2p'
import type { Hono } from 'hono'
import { createApi } from '../../src/api/index.ts'

export const TOKEN = 'fuzz-token-0123456789abcdefghijklmnopqrstuvwxyz'
/** The correlation id the fake journal holds a paid purchase under (of capability `summarize`). */
export const PAID_ID = 'paid-1'

/** A JSON-RPC endpoint that answers every call with an error at once (the faucet's chain). */
async function refusingRpc(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"fuzz: no chain here"}}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  server.unref()
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

const entry = {
  correlationId: PAID_ID,
  peer: '12D3KooWBAdUmn8JKUy7ogZntEDnJC4FujdWgByHQiMf2PTqe5Eo',
  addresses: [],
  resource: 'summarize',
  body: 'e30=',
  contentType: 'application/json',
  state: 'done',
  createdAt: 1,
  updatedAt: 2,
  payment: { payer: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' },
  metadata: { capability: 'summarize', listing: { id: 'summarize' } }
}

/**
 * The REST API over a node with no peers, an empty marketplace, a journal holding one paid purchase and a devnet
 * whose chain refuses every call: every route's input handling runs for real, nothing reaches a network.
 */
export async function fakeApi(): Promise<{ app: Hono; close: () => void }> {
  const rpc = await refusingRpc()
  const node = {
    peerId: '12D3KooWNode',
    multiaddrs: () => [],
    libp2p: { getPeers: () => [], getConnections: () => [] },
    network: {
      name: 'devnet',
      chainId: 31337,
      caip2: 'eip155:31337',
      rpcUrl: rpc.url,
      usdc: { address: '0x5FbDB2315678afecb367f032d93F642f64180aa3', decimals: 6 },
      erc8004: { identityRegistry: '0x8004A818BFB912233c491871b3d84c89A494BD9e' }
    },
    wallet: { address: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' },
    services: {
      market: { find: () => [], findSellers: async () => [] },
      x402Client: {
        resume: async (id: string) => {
          throw new CallNotFoundError(id)
        }
      }
    },
    journal: {
      get: async (id: string) => (id === PAID_ID ? entry : undefined),
      list: async () => [],
      put: async () => {}
    },
    feedback: { get: async () => undefined },
    sales: { list: async () => [], earnings: async () => [] },
    usdcBalance: async () => 0n
  } as unknown as BetarNode
  return { app: createApi(node, { token: TOKEN }), close: () => rpc.server.close() }
}

/** Sends one request as a local client would (loopback Host, the token, JSON). */
export function send(app: Hono, method: string, path: string, body?: Uint8Array): Promise<Response> {
  return Promise.resolve(
    app.request(`http://127.0.0.1${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', host: '127.0.0.1' },
      ...(body != null ? { body } : {})
    })
  )
}

/** A typed answer: below 500 with `{ error: { name, message } }` when it is an error, JSON either way. */
export async function typedAnswer(res: Response, what: string): Promise<unknown> {
  const text = await res.text()
  let json: { error?: { name?: unknown; message?: unknown } }
  try {
    json = JSON.parse(text)
  } catch {
    throw new Error(`${what}: ${res.status} answer is not JSON`)
  }
  if (res.status === 500) throw new Error(`${what}: 500 ${String(json.error?.name)}`)
  if (res.status >= 400 && (typeof json.error?.name !== 'string' || typeof json.error?.message !== 'string')) {
    throw new Error(`${what}: ${res.status} without a typed error body`)
  }
  return { status: res.status, json }
}
