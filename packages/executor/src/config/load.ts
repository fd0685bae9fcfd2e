import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import type { z } from 'zod'
import { AgentsConfigError, type ConfigIssue } from '../errors.ts'
import { compileSchema } from '../schema.ts'
import { type AgentsConfig, agentsConfigSchema } from './schema.ts'

/**
 * Reads and validates an agents config: a path to a `.yaml`/`.yml`/`.json` file, or the text itself (JSON when it
 * starts with `{`, YAML otherwise). Input and output schemas are compiled to check them.
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
  return parseAgentsConfig(text, /\.json$/i.test(pathOrText.trim()) ? 'json' : 'yaml')
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
