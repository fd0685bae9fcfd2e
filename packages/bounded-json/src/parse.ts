import { DEFAULT_MAX_JSON_DEPTH } from './constants.ts'
import { exceedsJsonDepth } from './depth.ts'
import { JsonLimitError } from './errors.ts'

/** Bounds of {@link parseBoundedJson}. */
export interface BoundedJsonOptions {
  /**
   * Most bytes (UTF-8) accepted; a string counts its UTF-16 length, a lower bound of its UTF-8 size.
   *
   * @default Infinity
   */
  maxBytes?: number
  /**
   * Deepest nesting of arrays and objects accepted.
   *
   * @default 64 ({@link DEFAULT_MAX_JSON_DEPTH})
   */
  maxDepth?: number
  /**
   * `strict`: bytes must be UTF-8 (a leading byte order mark is dropped). `lenient`: as Go's `json.Unmarshal` reads
   * them — invalid sequences become U+FFFD and a byte order mark is kept (and then fails to parse).
   *
   * @default 'strict'
   */
  utf8?: 'strict' | 'lenient'
}

/** A member name that `JSON.parse` keeps as an own property but every later copy drops or turns into the prototype. */
const PROTO = '__proto__'

/** Refuses `__proto__` members (see {@link parseBoundedJson}); a reviver, so escaped spellings are caught too. */
function refuseProto(this: unknown, key: string, value: unknown): unknown {
  if (key === PROTO) throw new JsonLimitError('key', 'JSON has a "__proto__" member')
  return value
}

const strict = new TextDecoder('utf-8', { fatal: true })
const lenient = new TextDecoder('utf-8', { ignoreBOM: true })

/**
 * Parses JSON from an untrusted source with its size and nesting depth checked first, so that nothing recursive ever
 * sees a value deeper than `maxDepth`. `JSON.parse` itself is iterative in V8; what overflows the stack is what comes
 * after it (zod's lazy schemas, `JSON.stringify`, canonical JSON).
 *
 * An object member named `__proto__` is refused (`reason` `key`): `JSON.parse` keeps it as an own property, but zod,
 * spreads and `Object.assign` drop it or make it the object's prototype, so what a signature or hash covered would
 * differ from what the program reads.
 *
 * @throws JsonLimitError with `reason` `size`, `depth`, `encoding`, `syntax` or `key`
 */
export function parseBoundedJson(input: Uint8Array | string, options: BoundedJsonOptions = {}): unknown {
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH
  const size = typeof input === 'string' ? input.length : input.byteLength
  if (size > maxBytes) throw new JsonLimitError('size', `JSON is ${size} bytes, over the ${maxBytes}-byte limit`)
  if (exceedsJsonDepth(input, maxDepth)) {
    throw new JsonLimitError('depth', `JSON nests arrays or objects more than ${maxDepth} levels deep`)
  }
  let text: string
  if (typeof input === 'string') {
    text = input
  } else {
    try {
      text = (options.utf8 === 'lenient' ? lenient : strict).decode(input)
    } catch (cause) {
      throw new JsonLimitError('encoding', 'JSON is not valid UTF-8', { cause })
    }
  }
  // The reviver costs a call per value: only when the name can be there (spelled out, or with a \u escape).
  const suspect = text.includes(PROTO) || text.includes('\\u')
  try {
    return suspect ? JSON.parse(text, refuseProto) : JSON.parse(text)
  } catch (cause) {
    if (cause instanceof JsonLimitError) throw cause
    throw new JsonLimitError('syntax', `not JSON: ${(cause as Error).message.slice(0, 200)}`, { cause })
  }
}
