import { type CreateExecutorOptions, moduleUrl } from './create.ts'
import type { AgentConfig } from './schema.ts'

/** What {@link probeExecutor} found: `ok`, or the problem in words for the seller's operator. */
export type ProbeResult = { ok: true } | { ok: false; problem: string }

/** Options of {@link probeExecutor}. */
export interface ProbeExecutorOptions extends CreateExecutorOptions {
  /** Longest wait for an endpoint (ms). @default 5000 */
  timeoutMs?: number
  signal?: AbortSignal
  /** @default globalThis.fetch */
  fetch?: typeof globalThis.fetch
}

/** The environment variables `@google/adk` reads a Gemini API key from, in its order. */
const ADK_KEY_VARIABLES = ['GOOGLE_GENAI_API_KEY', 'GOOGLE_API_KEY', 'GEMINI_API_KEY'] as const

/**
 * Checks, without running a task, that an agent's executor can work (a seller's start-up and periodic health check):
 * a `function` executor's function is registered or its module imports and exports it; an `openai` executor's API
 * key variable is set and its server answers `GET {baseUrl}/models` with 2xx within the timeout; an `adk` executor
 * has an offline model or a Gemini API key (`GOOGLE_GENAI_API_KEY`, `GOOGLE_API_KEY` or `GEMINI_API_KEY`) or Vertex AI
 * (`GOOGLE_GENAI_USE_VERTEXAI`); `echo` always can. Never throws: problems are returned, for the local operator only
 * (they may name paths and hosts).
 */
export async function probeExecutor(agent: AgentConfig, options: ProbeExecutorOptions = {}): Promise<ProbeResult> {
  const config = agent.executor
  const env = options.env ?? process.env
  switch (config.kind) {
    case 'echo':
      return { ok: true }
    case 'function': {
      const key = config.export ?? agent.name
      if (options.functions?.[key] != null) return { ok: true }
      if (config.module == null) return { ok: false, problem: `no function "${key}" registered and no module given` }
      const exportName = config.export ?? 'default'
      try {
        const mod = (await import(moduleUrl(config.module, options.baseDir))) as Record<string, unknown>
        if (typeof mod[exportName] === 'function') return { ok: true }
        return { ok: false, problem: `module ${config.module} has no function export "${exportName}"` }
      } catch (err) {
        return { ok: false, problem: `module ${config.module} cannot be loaded: ${messageOf(err)}` }
      }
    }
    case 'openai': {
      let apiKey: string | undefined
      if (config.apiKeyEnv != null) {
        apiKey = env[config.apiKeyEnv]
        if (apiKey == null || apiKey === '') {
          return { ok: false, problem: `environment variable ${config.apiKeyEnv} (the API key) is not set` }
        }
      }
      const url = `${config.baseUrl.replace(/\/+$/, '')}/models`
      const signals = [AbortSignal.timeout(options.timeoutMs ?? 5_000)]
      if (options.signal != null) signals.push(options.signal)
      try {
        const response = await (options.fetch ?? globalThis.fetch)(url, {
          headers: { accept: 'application/json', ...(apiKey != null ? { authorization: `Bearer ${apiKey}` } : {}) },
          signal: AbortSignal.any(signals)
        })
        await response.body?.cancel()
        if (response.ok) return { ok: true }
        return { ok: false, problem: `GET ${url} answered HTTP ${response.status}` }
      } catch (err) {
        return { ok: false, problem: `GET ${url} failed: ${messageOf(err)}` }
      }
    }
    case 'adk': {
      if (options.adkModel != null && typeof options.adkModel !== 'string') return { ok: true }
      if (ADK_KEY_VARIABLES.some((name) => (env[name] ?? '') !== '')) return { ok: true }
      if (/^(1|true)$/i.test(env.GOOGLE_GENAI_USE_VERTEXAI ?? '')) return { ok: true }
      return { ok: false, problem: `no Gemini API key: set ${ADK_KEY_VARIABLES.join(', ')} (any one)` }
    }
  }
}

/** An error's message with its cause (`fetch failed` alone says nothing; its cause says `ECONNREFUSED`). */
function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : ''
  return `${err.message}${cause}`
}
