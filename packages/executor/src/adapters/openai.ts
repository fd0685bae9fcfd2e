import { LlmHttpError, LlmResponseError } from '../errors.ts'
import type { ExecutionContext, Executor } from '../types.ts'
import { sseData } from './sse.ts'

/** One chat message of the OpenAI chat-completions API. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant'
  content: string
}

/** Options of {@link openAiExecutor}. */
export interface OpenAiExecutorInit {
  /** The API root, e.g. `http://127.0.0.1:11434/v1` (Ollama), `http://127.0.0.1:8080/v1` (llama.cpp), vLLM's. */
  baseUrl: string
  /** Sent as `Authorization: Bearer …` when set. */
  apiKey?: string
  model: string
  /** A system message put before the caller's messages. */
  system?: string
  /** @default globalThis.fetch */
  fetch?: typeof globalThis.fetch
  /** Sent as `max_tokens`. */
  maxTokens?: number
  temperature?: number
  /** Use `stream: true` and return the text deltas as an async iterable. @default false */
  stream?: boolean
  /** Largest response body read, in bytes. @default 4 MiB */
  maxResponseBytes?: number
}

const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
const EXCERPT_CHARS = 500

/**
 * An executor calling an OpenAI-compatible `POST {baseUrl}/chat/completions` (OpenAI, Ollama, llama.cpp server,
 * vLLM…), aborted by the context's signal.
 *
 * The input becomes the messages: a string is one user message; `{ messages: [{ role, content }] }` is used as is;
 * anything else is JSON-encoded into one user message. The adapter is stateless: nothing is kept between calls, so
 * one buyer can never see another's conversation; a buyer wanting a multi-turn exchange sends the history itself.
 *
 * @returns the reply text, or its deltas as an `AsyncIterable<string>` when `stream` is set.
 * @throws {@link LlmHttpError} for a non-2xx answer, {@link LlmResponseError} for an unusable or oversized one.
 */
export function openAiExecutor(init: OpenAiExecutorInit): Executor {
  const url = `${init.baseUrl.replace(/\/+$/, '')}/chat/completions`
  const maxBytes = init.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
  const doFetch = init.fetch ?? globalThis.fetch

  async function post(input: unknown, ctx: ExecutionContext, stream: boolean): Promise<Response> {
    const messages = toMessages(input)
    if (init.system != null) messages.unshift({ role: 'system', content: init.system })
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' }
    if (init.apiKey != null) headers.authorization = `Bearer ${init.apiKey}`
    const body: Record<string, unknown> = { model: init.model, messages, stream }
    if (init.maxTokens != null) body.max_tokens = init.maxTokens
    if (init.temperature != null) body.temperature = init.temperature
    const response = await doFetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: ctx.signal })
    if (!response.ok) {
      const text = await readBounded(response, EXCERPT_CHARS * 4).catch(() => '')
      throw new LlmHttpError(response.status, text.slice(0, EXCERPT_CHARS))
    }
    return response
  }

  return {
    execute(input, ctx) {
      if (init.stream === true) return streamReply(post(input, ctx, true), maxBytes)
      return post(input, ctx, false).then(async (response) => {
        const text = await readBounded(response, maxBytes, true)
        let json: unknown
        try {
          json = JSON.parse(text)
        } catch (err) {
          throw new LlmResponseError('response is not JSON', { cause: err })
        }
        const content = (json as { choices?: Array<{ message?: { content?: unknown } }> }).choices?.[0]?.message
          ?.content
        if (typeof content !== 'string') throw new LlmResponseError('response has no choices[0].message.content')
        return content
      })
    }
  }
}

async function* streamReply(pending: Promise<Response>, maxBytes: number): AsyncGenerator<string, void> {
  const response = await pending
  if (response.body == null) throw new LlmResponseError('streaming response has no body')
  const body = response.body as unknown as AsyncIterable<Uint8Array>
  for await (const data of sseData(body, maxBytes, () => new LlmResponseError(`response exceeds ${maxBytes} bytes`))) {
    if (data.trim() === '[DONE]') return
    let json: unknown
    try {
      json = JSON.parse(data)
    } catch (err) {
      throw new LlmResponseError('stream event is not JSON', { cause: err })
    }
    const delta = (json as { choices?: Array<{ delta?: { content?: unknown } }> }).choices?.[0]?.delta?.content
    if (typeof delta === 'string' && delta !== '') yield delta
  }
}

/** Reads a body as UTF-8 text, up to `maxBytes` (then truncates, or throws when `strict`). */
async function readBounded(response: Response, maxBytes: number, strict = false): Promise<string> {
  if (response.body == null) return ''
  const decoder = new TextDecoder()
  let text = ''
  let total = 0
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength
    if (total > maxBytes) {
      if (strict) throw new LlmResponseError(`response exceeds ${maxBytes} bytes`)
      text += decoder.decode(chunk.subarray(0, chunk.byteLength - (total - maxBytes)))
      await response.body.cancel().catch(() => {})
      return text
    }
    text += decoder.decode(chunk, { stream: true })
  }
  return text + decoder.decode()
}

/** The chat messages for an input (see {@link openAiExecutor}). */
export function toMessages(input: unknown): ChatMessage[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }]
  if (input != null && typeof input === 'object' && Array.isArray((input as { messages?: unknown }).messages)) {
    const messages = (input as { messages: unknown[] }).messages
    if (messages.every(isChatMessage)) return messages.map((m) => ({ role: m.role, content: m.content }))
  }
  return [{ role: 'user', content: JSON.stringify(input ?? null) }]
}

function isChatMessage(value: unknown): value is ChatMessage {
  if (value == null || typeof value !== 'object') return false
  const { role, content } = value as { role?: unknown; content?: unknown }
  return (role === 'user' || role === 'assistant' || role === 'system') && typeof content === 'string'
}
