import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A real OpenAI-compatible HTTP server on 127.0.0.1 (`GET /v1/models`, `POST /v1/chat/completions` answering the last
 * user message reversed), that can be stopped and started again on the same port — an LLM endpoint going down and
 * coming back.
 */
export interface OpenAiStub {
  baseUrl: string
  /** Completions answer this HTTP status (e.g. 429) while `/models` keeps answering 200; `undefined` heals. */
  failCompletions(status: number | undefined): void
  stop(): Promise<void>
  restart(): Promise<void>
}

export async function startOpenAiStub(): Promise<OpenAiStub> {
  let server: Server | undefined
  let port = 0
  let failing: number | undefined
  const listen = async (): Promise<void> => {
    const s = createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[{"id":"stub"}]}')
        return
      }
      if (req.method === 'POST' && req.url === '/v1/chat/completions' && failing != null) {
        res.writeHead(failing, { 'content-type': 'application/json' }).end('{"error":{"message":"rate limited"}}')
        return
      }
      if (req.method === 'POST' && req.url === '/v1/chat/completions') {
        let raw = ''
        req.on('data', (chunk: Buffer) => {
          raw += chunk.toString('utf8')
        })
        req.on('end', () => {
          const body = JSON.parse(raw) as { messages: Array<{ role: string; content: string }> }
          const last = [...body.messages].reverse().find((m) => m.role === 'user')?.content ?? ''
          const content = [...last].reverse().join('')
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content } }] }))
        })
        return
      }
      res.writeHead(404).end()
    })
    await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', resolve))
    port = (s.address() as AddressInfo).port
    server = s
  }
  await listen()
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    failCompletions(status) {
      failing = status
    },
    async stop() {
      const s = server
      server = undefined
      if (s == null) return
      s.closeAllConnections()
      await new Promise((resolve) => s.close(resolve))
    },
    restart: listen
  }
}
