import type { Context, MiddlewareHandler } from 'hono'

/** Each request's body, read once by {@link limitedBody} (keyed by the request, so nothing outlives it). */
const bodies = new WeakMap<Request, Uint8Array>()
const utf8 = new TextDecoder()

/**
 * Reads each request body up to `maxSize` bytes, answering `onError` beyond it — before the whole body arrives when its
 * `Content-Length` says so. Replaces hono's `bodyLimit`, which re-wraps a body sent without `Content-Length` (chunked)
 * in `new Request(request, { body })`: on Node 20 every such request then kept about 1 KB of heap for good (found by
 * the REST fuzz harness, issue 13). The bytes are kept for {@link bodyText}.
 */
export function limitedBody(maxSize: number, onError: (c: Context) => Response | Promise<Response>): MiddlewareHandler {
  return async (c, next) => {
    const raw = c.req.raw
    if (raw.body == null) return next()
    const declared = raw.headers.get('content-length')
    if (declared != null && !raw.headers.has('transfer-encoding') && Number.parseInt(declared, 10) > maxSize) {
      return onError(c)
    }
    const reader = raw.body.getReader()
    const chunks: Uint8Array[] = []
    let size = 0
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.byteLength
      if (size > maxSize) {
        await reader.cancel().catch(() => {})
        return onError(c)
      }
      chunks.push(value)
    }
    const body = new Uint8Array(size)
    let at = 0
    for (const chunk of chunks) {
      body.set(chunk, at)
      at += chunk.byteLength
    }
    bodies.set(raw, body)
    return next()
  }
}

/** The request body as text: what {@link limitedBody} read, or the body itself when it did not run. */
export async function bodyText(c: Context): Promise<string> {
  const body = bodies.get(c.req.raw)
  return body != null ? utf8.decode(body) : c.req.text()
}
