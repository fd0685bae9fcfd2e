import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { BaseLlm } from '@google/adk'
import { adkExecutor } from '../adapters/adk.ts'
import { functionExecutor, type TaskFunction } from '../adapters/function.ts'
import { openAiExecutor } from '../adapters/openai.ts'
import { textStatsExecutor } from '../adapters/text-stats.ts'
import { AgentsConfigError } from '../errors.ts'
import type { Executor } from '../types.ts'
import type { AgentConfig } from './schema.ts'

/** Options of {@link createExecutor}. */
export interface CreateExecutorOptions {
  /** Where `apiKeyEnv` is looked up. @default process.env */
  env?: Record<string, string | undefined>
  /** Replaces the `adk` executor's `model` (e.g. an offline `BaseLlm`, or another model name). */
  adkModel?: string | BaseLlm
  /** `function` executors by name (`export`, else the agent name), checked before `module`. */
  functions?: Record<string, TaskFunction>
  /**
   * Directory relative `module` paths are resolved from. `loadAgentsConfig(file)` already makes them absolute from
   * the file's folder, so this only matters for configs given as text or built in code. @default process.cwd()
   */
  baseDir?: string
  /** ADK app name. @default 'betar' */
  appName?: string
}

/**
 * Builds the executor an agent config entry describes: `function` (a registered function or a module export),
 * `adk` (a Google ADK `LlmAgent`, one per caller), `openai` (an OpenAI-compatible server, API key from
 * `env[apiKeyEnv]`) or `echo` (the deterministic local text analyser, {@link textStatsExecutor}).
 *
 * @throws {@link AgentsConfigError} when the entry cannot be built (unknown function, missing API key variable).
 */
export function createExecutor(agent: AgentConfig, options: CreateExecutorOptions = {}): Executor {
  const config = agent.executor
  switch (config.kind) {
    case 'echo':
      return textStatsExecutor()
    case 'function': {
      const key = config.export ?? agent.name
      const fn = options.functions?.[key]
      if (fn != null) return functionExecutor(fn)
      if (config.module == null) {
        throw new AgentsConfigError([{ path: 'executor.module', message: `no function "${key}" and no module given` }])
      }
      const specifier = moduleUrl(config.module, options.baseDir)
      const exportName = config.export ?? 'default'
      return lazyExecutor(async () => {
        const mod = (await import(specifier)) as Record<string, unknown>
        const exported = mod[exportName]
        if (typeof exported !== 'function') {
          throw new AgentsConfigError([
            { path: 'executor.export', message: `${config.module} has no function export "${exportName}"` }
          ])
        }
        return functionExecutor(exported as TaskFunction)
      })
    }
    case 'openai': {
      const env = options.env ?? process.env
      let apiKey: string | undefined
      if (config.apiKeyEnv != null) {
        apiKey = env[config.apiKeyEnv]
        if (apiKey == null || apiKey === '') {
          throw new AgentsConfigError([
            { path: 'executor.apiKeyEnv', message: `environment variable ${config.apiKeyEnv} is not set` }
          ])
        }
      }
      return openAiExecutor({
        baseUrl: config.baseUrl,
        model: config.model,
        ...(apiKey != null ? { apiKey } : {}),
        ...(config.system != null ? { system: config.system } : {})
      })
    }
    case 'adk': {
      const model = options.adkModel ?? config.model
      return lazyExecutor(async () => {
        const { LlmAgent } = await import('@google/adk')
        return adkExecutor({
          appName: options.appName ?? 'betar',
          agent: () =>
            new LlmAgent({
              name: agentIdentifier(agent.name),
              description: agent.description,
              model,
              instruction: config.instruction
            })
        })
      })
    }
  }
}

/** An executor built on first use (e.g. after importing a module). */
export function lazyExecutor(load: () => Promise<Executor>): Executor {
  let loaded: Promise<Executor> | undefined
  return {
    execute(input, ctx) {
      loaded ??= load()
      loaded.catch(() => {
        loaded = undefined
      })
      return loaded.then((executor) => executor.execute(input, ctx))
    }
  }
}

/** The import specifier of a `function` executor's module (relative paths from `baseDir`). @internal */
export function moduleUrl(module: string, baseDir: string | undefined): string {
  if (!module.startsWith('.') && !isAbsolute(module)) return module
  return pathToFileURL(resolve(baseDir ?? process.cwd(), module)).href
}

/** ADK agent names must be identifiers. */
function agentIdentifier(name: string): string {
  const id = name.replace(/[^A-Za-z0-9_]/g, '_')
  return /^[A-Za-z_]/.test(id) ? id : `agent_${id}`
}
