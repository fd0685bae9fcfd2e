import { z } from 'zod'

const jsonSchema = z.union([z.record(z.string(), z.unknown()), z.boolean()])
const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1–64 letters, digits, `_`, `.` or `-`, starting alphanumeric')

/** How an agent's task is run. */
export const executorConfigSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('function'),
    /** Module to import (relative to the config's directory or `baseDir`). */
    module: z.string().min(1).optional(),
    /** Export of that module (or name in `functions`). @default 'default' */
    export: z.string().min(1).optional()
  }),
  z.strictObject({
    kind: z.literal('adk'),
    model: z.string().min(1),
    instruction: z.string().min(1)
  }),
  z.strictObject({
    kind: z.literal('openai'),
    baseUrl: z.url({ protocol: /^https?$/ }),
    model: z.string().min(1),
    apiKeyEnv: z.string().min(1).optional(),
    system: z.string().optional()
  }),
  z.strictObject({ kind: z.literal('echo') })
])

/** One agent (one marketplace listing). */
export const agentConfigSchema = z.strictObject({
  name,
  /** Shown in the marketplace listing (at most 2048 characters there). */
  description: z.string().min(1).max(2048),
  /** Discovery tags, as the marketplace accepts them: 1–32 of lower-case `[a-z0-9._-]{1,64}`. */
  capabilities: z
    .array(z.string().regex(/^[a-z0-9._-]{1,64}$/, 'must be lower-case letters, digits, ".", "_" or "-" (1–64)'))
    .min(1)
    .max(32),
  price: z.strictObject({
    /** Atomic units (e.g. 10000 = 0.01 USDC). */
    amount: z.string().regex(/^(0|[1-9][0-9]*)$/, 'must be a non-negative integer in atomic units, as a string'),
    asset: z.string().min(1).optional(),
    network: z.string().min(1).optional()
  }),
  inputSchema: jsonSchema.optional(),
  outputSchema: jsonSchema.optional(),
  timeoutMs: z.number().int().positive().optional(),
  /**
   * When the buyer's payment settles: `before` the task runs (refunded on-chain if it fails) or `after` it succeeds
   * (x402's HTTP order; a failed task costs nothing). @default 'before'
   */
  settlement: z.enum(['before', 'after']).optional(),
  executor: executorConfigSchema
})

/** The agents config file. */
export const agentsConfigSchema = z.object({ agents: z.array(agentConfigSchema) }).superRefine((config, ctx) => {
  const seen = new Set<string>()
  config.agents.forEach((agent, i) => {
    if (seen.has(agent.name)) {
      ctx.addIssue({ code: 'custom', path: ['agents', i, 'name'], message: `duplicate agent name "${agent.name}"` })
    }
    seen.add(agent.name)
  })
})

export type ExecutorConfig = z.infer<typeof executorConfigSchema>
export type AgentConfig = z.infer<typeof agentConfigSchema>
export type AgentsConfig = z.infer<typeof agentsConfigSchema>
