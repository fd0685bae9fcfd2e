/** Which bound a JSON document broke. */
export type JsonLimitReason = 'size' | 'depth' | 'encoding' | 'syntax' | 'key'

/**
 * A JSON document from an untrusted source was refused before it was parsed or walked: too many bytes, nested too
 * deep, not UTF-8 (strict mode), not JSON, or with a `__proto__` member. Decoders catch it and throw their own package's typed error.
 */
export class JsonLimitError extends Error {
  static override name = 'JsonLimitError'
  /** The bound that was broken. */
  readonly reason: JsonLimitReason

  constructor(reason: JsonLimitReason, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'JsonLimitError'
    this.reason = reason
  }
}
