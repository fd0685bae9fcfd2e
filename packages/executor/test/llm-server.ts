import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** What the scripted server received. */
export interface ReceivedRequest {
  url: string
  authorization: string | undefined
  body: { model: string; messages: Array<{ role: string; content: string }>; stream?: boolean; max_tokens?: number }
}

/**
 * A real OpenAI-compatible HTTP server on 127.0.0.1: answers `POST /v1/chat/completions` with the last user message
 * uppercased (JSON, or SSE chunks with `stream: true`), and `GET /v1/models`. Models `fail` answer 500, `slow` never answer.
 */
export async function startLlmServer(): Promise<{
  baseUrl: string
  received: ReceivedRequest[]
  close: () => Promise<void>
}> {
  const received: ReceivedRequest[] = []
  const server: Server = createServer(async (req, res) => {
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[{"id":"echo"}]}')
      return
    }
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404).end('not found')
      return
    }
    const body = JSON.parse(await readBody(req)) as ReceivedRequest['body']
    received.push({ url: req.url, authorization: req.headers.authorization, body })
    if (body.model === 'fail') {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"model crashed"}}')
      return
    }
    if (body.model === 'slow') return // never answers; the client must time out
    const last = [...body.messages].reverse().find((m) => m.role === 'user')?.content ?? ''
    const reply = last.toUpperCase()
    if (body.stream === true) {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      const words = reply.split(/(?<= )/)
      for (const word of words) {
        res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: word } }] })}\n\n`)
        await new Promise((r) => setTimeout(r, 2))
      }
      res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`)
      res.end('data: [DONE]\n\n')
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: 'chatcmpl-1',
        object: 'chat.completion',
        model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }]
      })
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of req) text += String(chunk)
  return text
}
