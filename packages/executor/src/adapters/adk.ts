import type { Event, LlmAgent, Runner } from '@google/adk'
import type { ExecutionContext, Executor } from '../types.ts'

/** Options of {@link adkExecutor}. */
export interface AdkExecutorInit {
  /**
   * The agent, or a factory called once per caller (so agents holding their own state are never shared between
   * buyers). Its model may be a Gemini name (`'gemini-2.5-flash'`, ADK's default path with `GOOGLE_API_KEY`), a name
   * registered with `LLMRegistry`, or a `BaseLlm` instance.
   */
  agent: LlmAgent | (() => LlmAgent)
  /** The ADK app name sessions are stored under. */
  appName: string
  /** Stream the reply's text parts (ADK SSE mode) as an `AsyncIterable<string>`. @default false */
  stream?: boolean
  /** Sessions kept (oldest evicted first). @default 1000 */
  maxSessions?: number
}

type AdkModule = typeof import('@google/adk')
let adkModule: Promise<AdkModule> | undefined

/** `@google/adk` is an optional peer dependency: loaded on first use only. */
function loadAdk(): Promise<AdkModule> {
  adkModule ??= import('@google/adk')
  return adkModule
}

/**
 * An executor running a Google ADK agent with an `InMemoryRunner`.
 *
 * Isolation: the ADK user id is the caller (the buyer's peer id) and the session id is the correlation id, so there
 * is one ADK session per (caller, correlationId) and a buyer never sees another buyer's conversation; calls repeating
 * a (caller, correlationId) continue that session. With an agent factory each caller also gets its own agent and
 * runner. The run is aborted by the context's signal.
 *
 * The input becomes the user message (a string as is, anything else JSON-encoded). Returns the final response text.
 */
export function adkExecutor(init: AdkExecutorInit): Executor {
  const maxSessions = init.maxSessions ?? 1000
  const runners = new Map<string, Runner>()
  let shared: Runner | undefined
  /** `caller \0 correlationId` → runner, in creation order for eviction. */
  const sessions = new Map<string, Runner>()

  async function runnerFor(caller: string): Promise<Runner> {
    const adk = await loadAdk()
    if (typeof init.agent !== 'function') {
      shared ??= new adk.InMemoryRunner({ agent: init.agent, appName: init.appName })
      return shared
    }
    let runner = runners.get(caller)
    if (runner == null) {
      runner = new adk.InMemoryRunner({ agent: init.agent(), appName: init.appName })
      runners.set(caller, runner)
    }
    return runner
  }

  async function* run(input: unknown, ctx: ExecutionContext, stream: boolean): AsyncGenerator<Event, void> {
    const adk = await loadAdk()
    const runner = await runnerFor(ctx.caller)
    const key = `${ctx.caller}\u0000${ctx.correlationId}`
    const ids = { appName: init.appName, userId: ctx.caller, sessionId: ctx.correlationId }
    if (!sessions.has(key)) {
      await runner.sessionService.getOrCreateSession(ids)
      sessions.set(key, runner)
      await evict()
    }
    const text = typeof input === 'string' ? input : JSON.stringify(input ?? null)
    yield* runner.runAsync({
      userId: ctx.caller,
      sessionId: ctx.correlationId,
      newMessage: { role: 'user', parts: [{ text }] },
      abortSignal: ctx.signal,
      ...(stream ? { runConfig: { streamingMode: adk.StreamingMode.SSE } } : {})
    })
  }

  async function evict(): Promise<void> {
    while (sessions.size > maxSessions) {
      const [key, runner] = sessions.entries().next().value as [string, Runner]
      sessions.delete(key)
      const [userId = '', sessionId = ''] = key.split('\u0000')
      await runner.sessionService.deleteSession({ appName: init.appName, userId, sessionId })
      if (![...sessions.keys()].some((k) => k.startsWith(`${userId}\u0000`))) runners.delete(userId)
    }
  }

  return {
    execute(input, ctx) {
      if (init.stream === true) return streamText(run(input, ctx, true), ctx.signal)
      return finalText(run(input, ctx, false), ctx.signal)
    }
  }
}

async function finalText(events: AsyncIterable<Event>, signal: AbortSignal): Promise<string> {
  const { isFinalResponse } = await loadAdk()
  let last: string | undefined
  for await (const event of events) {
    signal.throwIfAborted()
    checkError(event)
    if (event.author === 'user' || event.partial === true || !isFinalResponse(event)) continue
    const text = textOf(event)
    if (text !== '') last = text
  }
  signal.throwIfAborted()
  return last ?? ''
}

async function* streamText(events: AsyncIterable<Event>, signal: AbortSignal): AsyncGenerator<string, void> {
  let sawPartial = false
  for await (const event of events) {
    signal.throwIfAborted()
    checkError(event)
    if (event.author === 'user') continue
    const text = textOf(event)
    if (event.partial === true) {
      sawPartial = true
      if (text !== '') yield text
    } else {
      // The aggregated event after partial ones repeats their text; a non-streaming model sends only this one.
      if (!sawPartial && text !== '') yield text
      sawPartial = false
    }
  }
  signal.throwIfAborted()
}

function textOf(event: Event): string {
  return (event.content?.parts ?? [])
    .filter((p) => typeof p.text === 'string' && p.thought !== true)
    .map((p) => p.text)
    .join('')
}

function checkError(event: Event): void {
  if (event.errorCode != null || (event.errorMessage != null && event.errorMessage !== '')) {
    throw new Error(`ADK error ${event.errorCode ?? ''}: ${event.errorMessage ?? 'unknown'}`.trim())
  }
}
