/**
 * The JSON documents Go carries inside the base64 `body` of requests and responses. Go builds both from a
 * `map[string]string` (asabya/betar `internal/agent/manager.go`), so `json.Marshal` sorts their keys: the request body
 * is `{"input":…,"resource":…}` — `input` first, not the `{"resource","input"}` order the Go source lists.
 */
import { InvalidV1MessageError } from './errors.ts'
import { goBase64Decode, goJsonStringMap, jsonBytes, parseGoJson } from './go-json.ts'

/** What an `x402.request`/`x402.paid_request` body carries: the agent ID and the task input. */
export interface V1RequestBody {
  resource: string
  input: string
}

/** The body bytes Go's client sends: `json.Marshal(map[string]string{"resource": …, "input": …})`. */
export function encodeV1RequestBody(body: V1RequestBody): Uint8Array {
  return jsonBytes(goJsonStringMap({ resource: body.resource, input: body.input }))
}

/** The body bytes Go's server sends: `json.Marshal(map[string]string{"output": …})`. */
export function encodeV1ResponseBody(output: string): Uint8Array {
  return jsonBytes(goJsonStringMap({ output }))
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function stringField(doc: Record<string, unknown>, key: string): string | undefined {
  const value = Object.hasOwn(doc, key) ? doc[key] : undefined
  if (value == null) return ''
  return typeof value === 'string' ? value : undefined
}

/**
 * Reads a request body the way Go's server does: an empty or nil body, missing keys and `null` values give `''`
 * (Go's zero values; the server then answers 1000 "missing resource in body" when `resource` is empty).
 *
 * @throws InvalidV1MessageError when the body is not a JSON object or `resource`/`input` is not a string (Go would
 * ignore the error and keep whatever it had decoded; refusing is safer)
 */
export function decodeV1RequestBody(body: Uint8Array | null): V1RequestBody {
  if (body == null || body.length === 0) return { resource: '', input: '' }
  let doc: unknown
  try {
    doc = parseGoJson(body)
  } catch (err) {
    throw new InvalidV1MessageError('x402.request body', 'not JSON', [], { cause: err })
  }
  if (doc === null) return { resource: '', input: '' }
  if (!isRecord(doc)) throw new InvalidV1MessageError('x402.request body', 'not a JSON object')
  const resource = stringField(doc, 'resource')
  const input = stringField(doc, 'input')
  if (resource == null || input == null) {
    throw new InvalidV1MessageError('x402.request body', '"resource" and "input" must be strings')
  }
  return { resource, input }
}

const utf8Lenient = new TextDecoder('utf-8', { ignoreBOM: true })

/**
 * Extracts the output from a response body exactly like Go's `extractX402Output`: an empty body gives `''`; a JSON
 * object of strings (or `null`) gives its `output` (or `''`); anything else falls back to the body text decoded as
 * standard base64, or failing that the body text itself.
 */
export function decodeV1ResponseBody(body: Uint8Array | null): string {
  if (body == null || body.length === 0) return ''
  try {
    const doc = parseGoJson(body)
    if (doc === null) return ''
    if (isRecord(doc) && Object.values(doc).every((v) => v === null || typeof v === 'string')) {
      return stringField(doc, 'output') ?? ''
    }
  } catch {
    // Go falls through to the base64/raw fallback on any unmarshal error.
  }
  const text = utf8Lenient.decode(body)
  const decoded = goBase64Decode(text)
  return decoded == null ? text : utf8Lenient.decode(decoded)
}
