import { FeedbackLoadError } from './errors.ts'

/** Loads the bytes behind a `feedbackURI` (e.g. from IPFS via Helia). */
export type LoadUri = (uri: string, options?: { signal?: AbortSignal }) => Promise<Uint8Array>

/** Stores feedback-file bytes and returns their URI (e.g. `ipfs://<cid>`). */
export type StoreBytes = (bytes: Uint8Array, options?: { signal?: AbortSignal }) => Promise<string>

/** Encodes bytes as an RFC 2397 base64 `data:` URI (the spec allows these for fully on-chain files). */
export function toDataUri(bytes: Uint8Array, mediaType = 'application/json'): string {
  return `data:${mediaType};base64,${Buffer.from(bytes).toString('base64')}`
}

/** Decodes an RFC 2397 `data:` URI (base64 or percent-encoded). Throws {@link FeedbackLoadError}. */
export function fromDataUri(uri: string): Uint8Array {
  const comma = uri.indexOf(',')
  if (!uri.startsWith('data:') || comma < 0) throw new FeedbackLoadError(`Malformed data: URI`)
  const meta = uri.slice(5, comma)
  const payload = uri.slice(comma + 1)
  if (meta.split(';').includes('base64')) return new Uint8Array(Buffer.from(payload, 'base64'))
  try {
    return new TextEncoder().encode(decodeURIComponent(payload))
  } catch (cause) {
    throw new FeedbackLoadError('Malformed data: URI', { cause })
  }
}

/** A {@link StoreBytes} that returns a `data:` URI (no external storage). */
export const storeAsDataUri: StoreBytes = async (bytes) => toDataUri(bytes)

/**
 * Wraps a loader so that `data:` URIs are decoded locally; other URIs go to `load`, or fail with
 * {@link FeedbackLoadError} when there is none.
 */
export function withDataUriSupport(load?: LoadUri): LoadUri {
  return async (uri, options) => {
    if (uri.startsWith('data:')) return fromDataUri(uri)
    if (load == null) throw new FeedbackLoadError(`No loader for URI scheme: ${uri.split(':')[0]}`)
    try {
      return await load(uri, options)
    } catch (cause) {
      if (cause instanceof FeedbackLoadError) throw cause
      throw new FeedbackLoadError(`Could not load ${uri}`, { cause })
    }
  }
}
