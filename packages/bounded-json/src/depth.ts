const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_BRACKET = 0x5b
const OPEN_BRACE = 0x7b
const CLOSE_BRACKET = 0x5d
const CLOSE_BRACE = 0x7d

/**
 * Whether a JSON text opens more than `maxDepth` arrays or objects inside one another, found by one pass over its
 * bytes (or UTF-16 code units) that allocates nothing: brackets inside strings do not count. The text need not be
 * valid JSON — run this before `JSON.parse`, so nothing recursive (a zod `z.lazy` schema, `JSON.stringify`, canonical
 * JSON) ever sees a deeper value. UTF-8 needs no decoding first: `"`, `\`, `[`, `{`, `]` and `}` never occur inside a
 * multi-byte sequence.
 */
export function exceedsJsonDepth(text: Uint8Array | string, maxDepth: number): boolean {
  // A text cannot nest deeper than it has opening brackets: most (a signed listing: ~900 characters, a dozen brackets)
  // are settled by counting them with the native indexOf, ≈ 10× cheaper than stepping through every character.
  if (!opensMoreThan(text, maxDepth)) return false
  const scan = new DepthScan(maxDepth)
  if (typeof text === 'string') {
    for (let i = 0; i < text.length; i++) if (scan.step(text.charCodeAt(i))) return true
  } else {
    for (let i = 0; i < text.length; i++) if (scan.step(text[i] as number)) return true
  }
  return false
}

/** Whether `text` holds more than `limit` `[` and `{` in all, strings included (counted up to `limit + 1`). */
function opensMoreThan(text: Uint8Array | string, limit: number): boolean {
  let count = 0
  if (typeof text === 'string') {
    for (const c of ['[', '{']) {
      for (let at = text.indexOf(c); at !== -1; at = text.indexOf(c, at + 1)) if (++count > limit) return true
    }
  } else {
    for (const c of [OPEN_BRACKET, OPEN_BRACE]) {
      for (let at = text.indexOf(c); at !== -1; at = text.indexOf(c, at + 1)) if (++count > limit) return true
    }
  }
  return false
}

/** The state of {@link exceedsJsonDepth}: one character (byte or UTF-16 code unit) at a time. */
class DepthScan {
  private depth = 0
  private inString = false
  private escaped = false

  constructor(private readonly maxDepth: number) {}

  /** Reads one character; true once the nesting went past the bound. */
  step(c: number): boolean {
    if (this.inString) {
      if (this.escaped) this.escaped = false
      else if (c === BACKSLASH) this.escaped = true
      else if (c === QUOTE) this.inString = false
    } else if (c === QUOTE) {
      this.inString = true
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      return ++this.depth > this.maxDepth
    } else if ((c === CLOSE_BRACKET || c === CLOSE_BRACE) && this.depth > 0) {
      this.depth--
    }
    return false
  }
}

/**
 * Whether an already-decoded value nests arrays or objects more than `maxDepth` deep, walked without recursion and
 * never further than `maxDepth + 1` levels (so a cyclic value counts as too deep rather than looping). For values that
 * did not come through {@link parseBoundedJson}, before a recursive function (canonical JSON, deep equality) sees them.
 */
export function exceedsValueDepth(value: unknown, maxDepth: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]]
  for (let next = stack.pop(); next != null; next = stack.pop()) {
    const [v, depth] = next
    if (v == null || typeof v !== 'object') continue
    if (depth + 1 > maxDepth) return true
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child != null && typeof child === 'object') stack.push([child, depth + 1])
    }
  }
  return false
}
