/** A JSON Schema (draft 2020-12 / draft-07 subset that ajv understands) as a plain object or boolean. */
export type JsonSchema = Record<string, unknown> | boolean

/** What an executor learns about one paid call. */
export interface ExecutionContext {
  /** Aborted on the time limit or when the caller gives up; executors must stop work when it fires. */
  signal: AbortSignal
  /** The buyer: its libp2p peer id as a string. Adapters key conversation state by it. */
  caller: string
  /** Identifies one call (and, for conversational adapters, one session) of this caller. */
  correlationId: string
}

/** The result of an executor: a value (JSON-serialisable) or a stream of text chunks. */
export type ExecutionResult = Promise<unknown> | AsyncIterable<string>

/** Runs the paid task of a listing. */
export interface Executor {
  execute(input: unknown, ctx: ExecutionContext): ExecutionResult
}
