import { exceedsJsonDepth } from '@betar/bounded-json'
import { ExecutionFailedError, InputValidationError } from './errors.ts'
import { type RunOptions, runExecutor } from './run.ts'
import { compileSchema, isTextSchema } from './schema.ts'
import type { Executor, JsonSchema } from './types.ts'

/** Default time limit of a handler call: 60 s. */
export const DEFAULT_TIMEOUT_MS = 60_000

/** An executor with its listing's contract, e.g. an agent config entry plus `executor`. */
export interface ExecutorBinding {
  executor: Executor
  inputSchema?: JsonSchema | undefined
  outputSchema?: JsonSchema | undefined
  /** @default 60000 */
  timeoutMs?: number | undefined
  /** @default 1 MiB */
  maxOutputBytes?: number | undefined
}

/** The request part an x402 resource handler receives (structurally `X402Request` of `@betar/x402-libp2p`). */
export interface HandlerRequest {
  body: Uint8Array
  peer: { toString(): string }
  correlationId: string
}

/** An x402 resource handler: UTF-8 JSON bytes in, UTF-8 JSON bytes out. */
export type BytesHandler = (request: HandlerRequest, context: { signal: AbortSignal }) => Promise<Uint8Array>

/**
 * Adapts an executor into an x402 resource handler. The body is parsed as UTF-8 JSON; when the input schema is
 * absent or `{ type: 'string' }` and the body is not JSON (or, for a string schema, not a JSON string) the text itself
 * is the input. The output is sent as UTF-8 JSON (`null` for `undefined`). The caller is `request.peer.toString()`.
 *
 * Errors are those of {@link runExecutor}; a body that is neither valid UTF-8 nor JSON where JSON is required is an
 * {@link InputValidationError}.
 */
export function toX402Handler(binding: ExecutorBinding): BytesHandler {
  return async (request, context) => {
    const input = decodeInput(request.body, binding.inputSchema)
    const options: RunOptions = {
      timeoutMs: binding.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      signal: context.signal,
      caller: request.peer.toString(),
      correlationId: request.correlationId
    }
    if (binding.inputSchema != null) options.inputSchema = binding.inputSchema
    if (binding.outputSchema != null) options.outputSchema = binding.outputSchema
    if (binding.maxOutputBytes != null) options.maxOutputBytes = binding.maxOutputBytes
    const output = await runExecutor(binding.executor, input, options)
    let text: string
    try {
      text = JSON.stringify(output === undefined ? null : output)
    } catch (err) {
      // A cycle or a BigInt from a function executor: a typed failure (the server refunds), not a plain TypeError.
      throw new ExecutionFailedError(`output is not JSON: ${(err as Error).message}`, { cause: err })
    }
    return new TextEncoder().encode(text)
  }
}

/** Deepest nesting of arrays and objects in a JSON input (checked before parsing). */
export const MAX_INPUT_DEPTH = 64

/** Decodes a request body into an executor input (see {@link toX402Handler}); JSON nests at most 64 levels deep. */
export function decodeInput(body: Uint8Array, inputSchema?: JsonSchema): unknown {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body)
  } catch {
    throw invalidBody('body is not valid UTF-8')
  }
  const textAllowed = isTextSchema(inputSchema)
  // Adapters encode the input again (`JSON.stringify`), which recurses: nothing nested deeper reaches them (issue 13).
  if (exceedsJsonDepth(text, MAX_INPUT_DEPTH)) {
    if (textAllowed) return text
    throw invalidBody(`body nests more than ${MAX_INPUT_DEPTH} levels deep`)
  }
  try {
    const value: unknown = JSON.parse(text)
    if (inputSchema != null && textAllowed && typeof value !== 'string') return text
    return value
  } catch {
    if (textAllowed) return text
    throw invalidBody('body is not JSON')
  }
}

function invalidBody(message: string): InputValidationError {
  return new InputValidationError(
    [{ instancePath: '', schemaPath: '#', keyword: 'type', params: {}, message }],
    `invalid input: ${message}`
  )
}

/**
 * The deterministic part of {@link toX402Handler}, for a resource's request validator (run before any payment):
 * decodes the body and checks it against the input schema. Throws {@link InputValidationError} with ajv's errors.
 */
export function validateRequestBody(body: Uint8Array, inputSchema?: JsonSchema): void {
  const input = decodeInput(body, inputSchema)
  if (inputSchema == null) return
  const validate = compileSchema(inputSchema)
  if (!validate(input)) throw new InputValidationError(validate.errors ?? [])
}
