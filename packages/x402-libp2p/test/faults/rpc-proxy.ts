import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * What the proxy does to a matching JSON-RPC request:
 * - `refuse`: answer HTTP 502 without forwarding (the node never sees it);
 * - `lose`: forward, let the node answer, then answer HTTP 502 (`how: '502'`) or reset the connection (`'reset'`);
 * - `stall`: hold the request `ms` before forwarding it (a client with a shorter timeout gives up; the node still acts);
 * - `drop`: forward an `eth_sendRawTransaction`, answer normally, then remove the transaction from the node's pool
 *   (`anvil_dropTransaction`) — accepted, then gone;
 * - `error`: answer a JSON-RPC error (`code`, `message`) without forwarding;
 * - `answer`: answer a JSON-RPC `result` without forwarding (e.g. `null`: a receipt index lagging the chain).
 */
export type FaultAction =
  | { kind: 'refuse' }
  | { kind: 'lose'; how?: '502' | 'reset' }
  | { kind: 'stall'; ms: number }
  | { kind: 'drop' }
  | { kind: 'error'; code: number; message: string }
  | { kind: 'answer'; result: unknown }

/** A fault for the `nth` (1-based, counted from when the rule is added) request of `method`, `times` times in a row. */
export interface FaultRule {
  method: string
  action: FaultAction
  /** @default 1 */
  nth?: number
  /** @default 1 */
  times?: number
  /** Only requests whose params satisfy this. */
  when?: (params: unknown[]) => boolean
}

interface ActiveRule extends Required<Omit<FaultRule, 'when'>> {
  when: FaultRule['when']
  seen: number
  applied: number
}

interface JsonRpcRequest {
  id?: unknown
  method: string
  params?: unknown[]
}

/** One JSON-RPC request the proxy saw, and the fault applied to it, if any. */
export interface ProxiedCall {
  method: string
  params: unknown[]
  fault?: FaultAction['kind']
  /** For `eth_sendRawTransaction`: the hash the node answered with. */
  result?: unknown
}

/**
 * A real HTTP proxy on 127.0.0.1 between a settler and anvil (JSON-RPC, by method) or an x402 facilitator (by path,
 * e.g. `/settle`), programmable per method and per call number. Requests are forwarded as they are (batches included);
 * faults apply to the first matching request of an HTTP call.
 */
export class RpcProxy {
  readonly url: string
  readonly calls: ProxiedCall[] = []
  private readonly target: string
  private readonly server: Server
  private rules: ActiveRule[] = []

  private constructor(server: Server, target: string) {
    this.server = server
    this.target = target
    const { port } = server.address() as AddressInfo
    this.url = `http://127.0.0.1:${port}`
  }

  static async start(target: string): Promise<RpcProxy> {
    let proxy: RpcProxy | undefined
    const server = createServer((req, res) => {
      proxy?.handle(req, res).catch(() => res.destroy())
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    proxy = new RpcProxy(server, target)
    return proxy
  }

  /** Adds a fault rule. */
  fault(rule: FaultRule): void {
    this.rules.push({ nth: 1, times: 1, ...rule, when: rule.when, seen: 0, applied: 0 })
  }

  /** Removes every pending fault rule. */
  heal(): void {
    this.rules = []
  }

  /** How many requests of `method` went through (faulted or not). */
  count(method: string): number {
    return this.calls.filter((c) => c.method === method).length
  }

  /** How many faults were applied. */
  faultsApplied(): number {
    return this.calls.filter((c) => c.fault != null).length
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private match(request: JsonRpcRequest): FaultAction | undefined {
    for (const rule of this.rules) {
      if (rule.method !== request.method) continue
      if (rule.when != null && !rule.when(request.params ?? [])) continue
      rule.seen++
      if (rule.seen >= rule.nth && rule.applied < rule.times) {
        rule.applied++
        return rule.action
      }
    }
    return undefined
  }

  private async forward(body: string, path = ''): Promise<{ status: number; text: string }> {
    const response = await fetch(`${this.target.replace(/\/$/, '')}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body
    })
    return { status: response.status, text: await response.text() }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks).toString('utf8')
    const path = req.url === '/' || req.url == null ? '' : req.url
    const parsed = JSON.parse(body) as JsonRpcRequest | JsonRpcRequest[]
    // Not JSON-RPC (an x402 facilitator's `/verify` or `/settle`): the path names the "method".
    const requests = (Array.isArray(parsed) ? parsed : [parsed]).map((r) =>
      typeof r.method === 'string' ? r : { ...r, method: path }
    )
    let action: FaultAction | undefined
    const entries: ProxiedCall[] = []
    for (const request of requests) {
      const found = action == null ? this.match(request) : undefined
      action ??= found
      const entry: ProxiedCall = { method: request.method, params: request.params ?? [] }
      if (found != null) entry.fault = found.kind
      entries.push(entry)
      this.calls.push(entry)
    }

    if (action?.kind === 'refuse') {
      res.writeHead(502).end('bad gateway')
      return
    }
    if (action?.kind === 'error') {
      const id = Array.isArray(parsed) ? null : (parsed.id ?? null)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ jsonrpc: '2.0', id, error: { code: action.code, message: action.message } }))
      return
    }
    if (action?.kind === 'answer') {
      const id = Array.isArray(parsed) ? null : (parsed.id ?? null)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ jsonrpc: '2.0', id, result: action.result }))
      return
    }
    if (action?.kind === 'stall') await new Promise((resolve) => setTimeout(resolve, action.ms))

    const answer = await this.forward(body, path)
    try {
      const results = JSON.parse(answer.text) as { result?: unknown } | Array<{ result?: unknown }>
      const list = Array.isArray(results) ? results : [results]
      list.forEach((r, i) => {
        const entry = entries[i]
        if (entry != null && entry.method === 'eth_sendRawTransaction') entry.result = r.result
      })
    } catch {
      // not JSON: nothing to record
    }

    if (action?.kind === 'drop') {
      for (const entry of entries) {
        if (entry.method === 'eth_sendRawTransaction' && typeof entry.result === 'string') {
          await this.forward(
            JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'anvil_dropTransaction', params: [entry.result] })
          )
        }
      }
    }
    if (action?.kind === 'lose') {
      if (action.how === 'reset') {
        res.socket?.destroy()
        return
      }
      res.writeHead(502).end('bad gateway')
      return
    }
    res.writeHead(answer.status, { 'content-type': 'application/json' })
    res.end(answer.text)
  }
}
