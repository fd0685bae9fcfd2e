/**
 * @packageDocumentation
 *
 * Runs the paid task of a Betar listing. An {@link Executor} turns a buyer's input into a result (or a stream of
 * text); {@link runExecutor} enforces the listing's contract around it — input validated against the JSON Schema
 * before running, a time limit the executor sees as an `AbortSignal`, bounded output, output validated — and
 * {@link toX402Handler} turns it into an `@betar/x402-libp2p` resource handler (JSON over UTF-8 bytes).
 *
 * Adapters: {@link functionExecutor} (plain functions), {@link adkExecutor} (Google ADK, one session per
 * caller and correlation id), {@link openAiExecutor} (OpenAI-compatible servers: Ollama, llama.cpp, vLLM; stateless)
 * and {@link textStatsExecutor} (deterministic, offline). Agents are declared in a YAML/JSON file read by
 * {@link loadAgentsConfig} and built by {@link createExecutor}.
 *
 * @example
 * ```ts
 * import { createExecutor, loadAgentsConfig, toX402Handler } from '@betar/executor'
 *
 * const { agents } = await loadAgentsConfig('agents.yaml')
 * for (const agent of agents) {
 *   const handler = toX402Handler({ ...agent, executor: createExecutor(agent) })
 *   node.services.x402.register(agent.name, { price: { amount: BigInt(agent.price.amount) }, handler })
 * }
 * ```
 */

export { type AdkExecutorInit, adkExecutor } from './adapters/adk.ts'
export { functionExecutor, type TaskFunction } from './adapters/function.ts'
export { type ChatMessage, type OpenAiExecutorInit, openAiExecutor, toMessages } from './adapters/openai.ts'
export { analyzeText, type TextStats, textStatsExecutor } from './adapters/text-stats.ts'
export { type CreateExecutorOptions, createExecutor, lazyExecutor } from './config/create.ts'
export { loadAgentsConfig, parseAgentConfig, parseAgentsConfig } from './config/load.ts'
export { type ProbeExecutorOptions, type ProbeResult, probeExecutor } from './config/probe.ts'
export {
  type AgentConfig,
  type AgentsConfig,
  agentConfigSchema,
  agentsConfigSchema,
  type ExecutorConfig,
  executorConfigSchema
} from './config/schema.ts'
export {
  AgentsConfigError,
  type ConfigIssue,
  ExecutionAbortedError,
  ExecutionFailedError,
  ExecutionTimeoutError,
  InputValidationError,
  LlmHttpError,
  LlmResponseError,
  OutputTooLargeError,
  OutputValidationError
} from './errors.ts'
export {
  type BytesHandler,
  DEFAULT_TIMEOUT_MS,
  decodeInput,
  type ExecutorBinding,
  type HandlerRequest,
  MAX_INPUT_DEPTH,
  toX402Handler,
  validateRequestBody
} from './handler.ts'
export { DEFAULT_MAX_OUTPUT_BYTES, MAX_OUTPUT_DEPTH, type RunOptions, runExecutor } from './run.ts'
export { compileSchema } from './schema.ts'
export type { ExecutionContext, ExecutionResult, Executor, JsonSchema } from './types.ts'
