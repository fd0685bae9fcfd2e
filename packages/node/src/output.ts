import { parseBoundedJson } from '@betar/bounded-json'

/** Deepest nesting of a seller's JSON result shown as JSON; deeper results are shown as their text. */
export const MAX_OUTPUT_DEPTH = 64

const utf8 = new TextDecoder()

/**
 * A paid call's result body as the node shows it: parsed JSON when it is JSON nested at most {@link MAX_OUTPUT_DEPTH}
 * levels (with no `__proto__` member), otherwise its text. The seller chooses these bytes: a bare `JSON.parse` of a
 * result nested 10,000 deep parsed, then every `JSON.stringify` of it (the REST answer, the CLI's output) threw
 * `RangeError` — the buyer had paid and could never read its result (review of issue 13). Never throws.
 */
export function decodeOutput(body: Uint8Array): unknown {
  const text = utf8.decode(body)
  try {
    return parseBoundedJson(text, { maxDepth: MAX_OUTPUT_DEPTH })
  } catch {
    return text
  }
}
