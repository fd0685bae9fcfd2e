import { readFile } from 'node:fs/promises'
import { dirname, isAbsolute, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import type { z } from 'zod'
import { AgentsConfigError, type ConfigIssue } from '../errors.ts'
import { compileSchema } from '../schema.ts'
import { type AgentConfig, type AgentsConfig, agentConfigSchema, agentsConfigSchema } from './schema.ts'

/**
 * Reads and validates an agents config: a path to a `.yaml`/`.yml`/`.json` file, or the text itself (JSON when it
 * starts with `{`, YAML otherwise). Input and output schemas are compiled to check them. A `function` executor's
 * relative `module` path (`./…`, `../…`) in a file is resolved from the file's folder — not the working directory —
 * and returned absolute; in text it is left as written (resolved later from `baseDir`).
 *
 * @throws {@link AgentsConfigError} naming each failing path, e.g. `agents[0].price.amount`.
 */
export async function loadAgentsConfig(pathOrText: string): Promise<AgentsConfig> {
  const isPath = !pathOrText.includes('\n') && /\.(ya?ml|json)$/i.test(pathOrText.trim())
  if (!isPath) return parseAgentsConfig(pathOrText)
  let text: string
  try {
    text = await readFile(pathOrText.trim(), 'utf8')
  } catch (err) {
    throw new AgentsConfigError([{ path: '', message: `cannot read ${pathOrText}` }], { cause: err })
  }
  const config = parseAgentsConfig(text, /\.json$/i.test(pathOrText.trim()) ? 'json' : 'yaml')
  return resolveModules(config, dirname(resolve(pathOrText.trim())))
}

/** `config` with every relative `function` executor `module` made absolute from `dir`. */
function resolveModules(config: AgentsConfig, dir: string): AgentsConfig {
  return {
    ...config,
    agents: config.agents.map((agent) => {
      const executor = agent.executor
      if (executor.kind !== 'function' || executor.module == null || !isRelativePath(executor.module)) return agent
      return { ...agent, executor: { ...executor, module: resolve(dir, executor.module) } }
    })
  }
}

/** `./x`, `../x` (a file path, unlike a package name or an absolute path). */
function isRelativePath(module: string): boolean {
  return module.startsWith('.') && !isAbsolute(module)
}

/**
 * Validates one agent's config (as `sellAgent` receives it from code, not from a file) with the rules of
 * {@link parseAgentsConfig}. Throws {@link AgentsConfigError} naming each failing path (e.g. `capabilities[0]`).
 */
export function parseAgentConfig(value: unknown): AgentConfig {
  const result = agentConfigSchema.safeParse(value)
  if (!result.success) throw new AgentsConfigError(result.error.issues.map(toIssue))
  return result.data
}

/** Parses and validates agents config text (see {@link loadAgentsConfig}). */
export function parseAgentsConfig(text: string, format?: 'json' | 'yaml'): AgentsConfig {
  const fmt = format ?? (text.trimStart().startsWith('{') ? 'json' : 'yaml')
  let raw: unknown
  try {
    raw = fmt === 'json' ? JSON.parse(text) : parseYaml(text)
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    throw new AgentsConfigError([{ path: '', message: `not valid ${fmt.toUpperCase()}: ${message}` }], { cause: err })
  }
  const result = agentsConfigSchema.safeParse(raw)
  if (!result.success) throw new AgentsConfigError(result.error.issues.map(toIssue))
  const schemaIssues: ConfigIssue[] = []
  result.data.agents.forEach((agent, i) => {
    for (const key of ['inputSchema', 'outputSchema'] as const) {
      const schema = agent[key]
      if (schema == null) continue
      try {
        compileSchema(schema)
      } catch (err) {
        schemaIssues.push({ path: `agents[${i}].${key}`, message: err instanceof Error ? err.message : String(err) })
      }
    }
  })
  if (schemaIssues.length > 0) throw new AgentsConfigError(schemaIssues)
  return result.data
}

function toIssue(issue: z.core.$ZodIssue): ConfigIssue {
  return { path: formatPath(issue.path), message: issue.message }
}

/** `['agents', 0, 'price']` → `agents[0].price`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out === '' ? String(key) : `.${String(key)}`
  }
  return out
}
