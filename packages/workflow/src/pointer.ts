/** A JSON Pointer (RFC 6901) that cannot be parsed or does not resolve in a document. */
export class JsonPointerError extends Error {
  static override name = 'JsonPointerError'
  readonly pointer: string

  constructor(pointer: string, message: string) {
    super(`JSON pointer "${pointer}": ${message}`)
    this.name = 'JsonPointerError'
    this.pointer = pointer
  }
}

/** The reference tokens of a JSON Pointer: `""` is the whole document, `/a~1b/~0c` is `["a/b", "~c"]` (§3, §4). */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) throw new JsonPointerError(pointer, 'must be empty or start with "/"')
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      // §3: "~" is only valid as "~0" or "~1"; §4: decode ~1 before ~0.
      if (/~[^01]|~$/.test(token)) throw new JsonPointerError(pointer, `invalid escape in "${token}"`)
      return token.replaceAll('~1', '/').replaceAll('~0', '~')
    })
}

/** Builds a JSON Pointer from reference tokens (the inverse of {@link parsePointer}). */
export function formatPointer(tokens: readonly string[]): string {
  return tokens.map((t) => `/${t.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')
}

/**
 * The value `pointer` names in `document` (RFC 6901 §4). Only own members are followed (never `__proto__` or
 * `constructor` of the prototype); array indexes are decimal without leading zeros. Throws {@link JsonPointerError}
 * when a token names nothing.
 */
export function resolvePointer(document: unknown, pointer: string): unknown {
  let value = document
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(value)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) >= value.length) {
        throw new JsonPointerError(pointer, `no index "${token}" in an array of ${value.length}`)
      }
      value = value[Number(token)]
    } else if (value != null && typeof value === 'object' && Object.hasOwn(value, token)) {
      value = (value as Record<string, unknown>)[token]
    } else {
      throw new JsonPointerError(pointer, `no member "${token}"`)
    }
  }
  return value
}
