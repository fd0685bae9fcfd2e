import type { ErrorObject } from 'ajv'

/** The input did not match the listing's input schema; the executor was not run. */
export class InputValidationError extends Error {
  static override name = 'InputValidationError'
  /** ajv's errors (all of them: validation runs with `allErrors`). */
  readonly errors: ErrorObject[]

  constructor(errors: ErrorObject[], message = `invalid input: ${describeErrors(errors)}`) {
    super(message)
    this.name = 'InputValidationError'
    this.errors = errors
  }
}

/** The executor's output did not match the listing's output schema. */
export class OutputValidationError extends Error {
  static override name = 'OutputValidationError'
  /** ajv's errors. */
  readonly errors: ErrorObject[]
  /** The rejected output. */
  readonly output: unknown

  constructor(errors: ErrorObject[], output: unknown) {
    super(`invalid output: ${describeErrors(errors)}`)
    this.name = 'OutputValidationError'
    this.errors = errors
    this.output = output
  }
}

/** The executor did not finish within the time limit; its signal was aborted. */
export class ExecutionTimeoutError extends Error {
  static override name = 'ExecutionTimeoutError'
  readonly timeoutMs: number

  constructor(timeoutMs: number) {
    super(`execution timed out after ${timeoutMs} ms`)
    this.name = 'ExecutionTimeoutError'
    this.timeoutMs = timeoutMs
  }
}

/** The caller's signal was aborted before the executor finished. `cause` is the signal's reason. */
export class ExecutionAbortedError extends Error {
  static override name = 'ExecutionAbortedError'

  constructor(cause: unknown) {
    super('execution aborted by the caller', { cause })
    this.name = 'ExecutionAbortedError'
  }
}

/** The executor threw (or its stream failed); `cause` is the original error. */
export class ExecutionFailedError extends Error {
  static override name = 'ExecutionFailedError'

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options)
    this.name = 'ExecutionFailedError'
  }
}

/** The executor produced more output than allowed. */
export class OutputTooLargeError extends Error {
  static override name = 'OutputTooLargeError'
  readonly limit: number

  constructor(limit: number) {
    super(`output exceeds ${limit} bytes`)
    this.name = 'OutputTooLargeError'
    this.limit = limit
  }
}

/** An OpenAI-compatible server answered with a non-2xx status. */
export class LlmHttpError extends Error {
  static override name = 'LlmHttpError'
  readonly status: number
  /** The first bytes of the response body, for diagnosis. */
  readonly bodyExcerpt: string

  constructor(status: number, bodyExcerpt: string) {
    super(`LLM server answered ${status}: ${bodyExcerpt}`)
    this.name = 'LlmHttpError'
    this.status = status
    this.bodyExcerpt = bodyExcerpt
  }
}

/** An OpenAI-compatible server sent a response this adapter cannot use (bad JSON, no choices, too large). */
export class LlmResponseError extends Error {
  static override name = 'LlmResponseError'

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options)
    this.name = 'LlmResponseError'
  }
}

/** One problem in an agents config file. */
export interface ConfigIssue {
  /** Where, e.g. `agents[0].price.amount`; empty for the whole document. */
  path: string
  message: string
}

/** The agents config could not be read, parsed or validated. */
export class AgentsConfigError extends Error {
  static override name = 'AgentsConfigError'
  readonly issues: ConfigIssue[]

  constructor(issues: ConfigIssue[], options: { cause?: unknown } = {}) {
    super(
      `invalid agents config: ${issues.map((i) => (i.path === '' ? i.message : `${i.path}: ${i.message}`)).join('; ')}`,
      options
    )
    this.name = 'AgentsConfigError'
    this.issues = issues
  }
}

/** One line per ajv error: `/path must …`. */
export function describeErrors(errors: ErrorObject[]): string {
  return errors
    .map((e) => `${e.instancePath === '' ? '(root)' : e.instancePath} ${e.message ?? 'is invalid'}`)
    .join('; ')
}
