import { exceedsValueDepth } from '@betar/bounded-json'
import { attempt, type FuzzTarget, typedBy } from '@betar/fuzz'
import { decodeInput, validateRequestBody } from '../../src/handler.ts'
import type { JsonSchema } from '../../src/types.ts'

const utf8 = new TextEncoder()
const isTyped = typedBy('InputValidationError')

/** The schemas a seller's agent config declares: an object with fields, free JSON, and text. */
const SCHEMAS: Array<JsonSchema | undefined> = [
  {
    type: 'object',
    properties: { text: { type: 'string', maxLength: 10_000 }, lang: { enum: ['en', 'fr'] }, n: { type: 'integer' } },
    required: ['text'],
    additionalProperties: false
  },
  { type: 'object' },
  { type: 'string' },
  undefined
]

/**
 * A buyer's request body as a seller's executor reads it: `validateRequestBody` (the resource's validator, before any
 * payment) and `decodeInput` (the handler), under each kind of input schema.
 */
export const requestBody: FuzzTarget = {
  name: 'executor-request-body',
  cost: 'cheap',
  formats: ['json'],
  maxLength: 64 * 1024,
  seeds: () => [
    utf8.encode('{"text":"hello world","lang":"en","n":3}'),
    utf8.encode('"a plain string"'),
    utf8.encode('plain text, not JSON'),
    utf8.encode('{"a":[1,{"b":null}]}')
  ],
  run(input) {
    const inputs: unknown[] = []
    for (const schema of SCHEMAS) {
      // the validator (before payment) refuses with the typed error or lets the body through to the handler
      attempt(() => validateRequestBody(input, schema), isTyped)
      const value = attempt(() => decodeInput(input, schema), isTyped)
      if (value !== undefined) inputs.push(value)
    }
    return inputs
  },
  isTyped: () => false,
  check(_, inputs) {
    for (const value of inputs as unknown[]) {
      if (exceedsValueDepth(value, 64)) return 'an input nests deeper than the bound'
      JSON.stringify(value) // what the adapters do with it
    }
    return undefined
  }
}
