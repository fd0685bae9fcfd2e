import { exceedsValueDepth } from '@betar/bounded-json'
import { json } from '@helia/json'
import type { AbortOptions } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import * as jsonCodec from 'multiformats/codecs/json'
import { DEFAULT_FETCH_TIMEOUT_MS, MAX_REGISTRATION_FILE_BYTES, MAX_REGISTRATION_FILE_DEPTH } from './constants.ts'
import {
  AgentFileUnavailableError,
  InvalidRegistrationFileError,
  RegistrationFileTooLargeError,
  UnsupportedAgentUriError
} from './errors.ts'
import {
  decodeRegistrationFile,
  encodeRegistrationFile,
  parseRegistrationFile,
  type RegistrationFile
} from './registration-file.ts'

/** The part of a Helia node this package uses: its (networked) blockstore, as `@helia/json` wants it. */
export type HeliaLike = Parameters<typeof json>[0]

/** A `fetch` implementation (for `https:` agentURIs only; nothing is fetched from the web without one). */
export type FetchLike = (
  input: string,
  init: { signal: AbortSignal; redirect: 'follow' | 'error' }
) => Promise<Response>

/** The `ipfs://` agentURI of a stored registration file. */
export function registrationFileUri(cid: CID): `ipfs://${string}` {
  return `ipfs://${cid.toString()}`
}

/**
 * Validates `file` and stores it on `helia` as a plain JSON block (codec `json`, 0x0200), returning
 * its CID. Peers fetch it over bitswap; announce it with `helia.routing.provide(cid)` if they use a DHT.
 */
export async function storeRegistrationFile(
  helia: HeliaLike,
  file: RegistrationFile,
  options: AbortOptions = {}
): Promise<CID> {
  encodeRegistrationFile(file) // validates and enforces the size bound
  return json(helia).add(parseRegistrationFile(file), options.signal != null ? { signal: options.signal } : {})
}

/** Options of {@link fetchAgentFile}. */
export interface FetchAgentFileOptions extends AbortOptions {
  /** Needed for `ipfs://` URIs: the file is read from its blockstore, over bitswap from connected peers. */
  helia?: HeliaLike
  /** Needed for `https:` URIs; without it they are rejected (no default internet access). */
  fetch?: FetchLike
  /** @default 30 s */
  timeoutMs?: number
}

/**
 * Retrieves and validates the registration file an agentURI points at: `ipfs://<cid>` (JSON-codec CIDs, via Helia),
 * `data:application/json[;base64],…`, or `https:` (only with `options.fetch`). Bounded to
 * {@link MAX_REGISTRATION_FILE_BYTES}.
 *
 * @throws {UnsupportedAgentUriError} unknown scheme, or the needed `helia`/`fetch` option is missing
 * @throws {AgentFileUnavailableError} retrieval failed or timed out
 * @throws {RegistrationFileTooLargeError}
 * @throws {InvalidRegistrationFileError}
 */
export async function fetchAgentFile(uri: string, options: FetchAgentFileOptions = {}): Promise<RegistrationFile> {
  options.signal?.throwIfAborted()
  if (uri === '') throw new AgentFileUnavailableError(uri, 'the agent has no agentURI')
  if (uri.startsWith('data:')) return decodeRegistrationFile(decodeDataUri(uri))
  if (!uri.startsWith('ipfs://') && !uri.startsWith('https://')) {
    throw new UnsupportedAgentUriError(uri, 'expected ipfs://, data: or https://')
  }
  // A timer cleared when the retrieval ends: AbortSignal.timeout() would keep each retrieval's response for the whole
  // timeout (about 1 KB per file for 30 s, seen by the fuzz harness's heap check).
  const timeout = new AbortController()
  const timer = setTimeout(
    () => timeout.abort(new DOMException('agent file retrieval timed out', 'TimeoutError')),
    options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS
  )
  const signal = options.signal != null ? AbortSignal.any([options.signal, timeout.signal]) : timeout.signal
  try {
    return uri.startsWith('ipfs://')
      ? await fetchIpfs(uri, options.helia, signal, options.signal)
      : await fetchHttps(uri, options.fetch, signal, options.signal)
  } finally {
    clearTimeout(timer)
  }
}

async function fetchIpfs(
  uri: string,
  helia: HeliaLike | undefined,
  signal: AbortSignal,
  callerSignal: AbortSignal | undefined
): Promise<RegistrationFile> {
  if (helia == null) throw new UnsupportedAgentUriError(uri, 'ipfs:// needs the helia option')
  let cid: CID
  try {
    cid = CID.parse(uri.slice('ipfs://'.length))
  } catch {
    throw new UnsupportedAgentUriError(uri, 'expected ipfs://<cid> with no path')
  }
  if (cid.code !== jsonCodec.code) throw new UnsupportedAgentUriError(uri, 'only JSON-codec (0x0200) CIDs are read')
  let value: unknown
  try {
    value = await json(helia).get(cid, { signal })
  } catch (cause) {
    callerSignal?.throwIfAborted()
    throw new AgentFileUnavailableError(uri, signal.aborted ? 'timed out' : 'block retrieval failed', { cause })
  }
  // @helia/json parsed the block; measuring it encodes it again, which recurses
  if (exceedsValueDepth(value, MAX_REGISTRATION_FILE_DEPTH)) {
    throw new InvalidRegistrationFileError(
      `registration file nests more than ${MAX_REGISTRATION_FILE_DEPTH} levels deep`
    )
  }
  const size = jsonCodec.encode(value).byteLength
  if (size > MAX_REGISTRATION_FILE_BYTES) throw new RegistrationFileTooLargeError(MAX_REGISTRATION_FILE_BYTES, size)
  return parseRegistrationFile(value)
}

async function fetchHttps(
  uri: string,
  fetch: FetchLike | undefined,
  signal: AbortSignal,
  callerSignal: AbortSignal | undefined
): Promise<RegistrationFile> {
  if (fetch == null) throw new UnsupportedAgentUriError(uri, 'https:// needs the fetch option')
  let bytes: Uint8Array
  try {
    const response = await fetch(uri, { signal, redirect: 'follow' })
    if (!response.ok) throw new AgentFileUnavailableError(uri, `HTTP ${response.status}`)
    bytes = await readBounded(response, MAX_REGISTRATION_FILE_BYTES)
  } catch (cause) {
    if (cause instanceof RegistrationFileTooLargeError || cause instanceof AgentFileUnavailableError) throw cause
    callerSignal?.throwIfAborted()
    throw new AgentFileUnavailableError(uri, signal.aborted ? 'timed out' : 'request failed', { cause })
  }
  return decodeRegistrationFile(bytes)
}

/** Reads a response body, failing as soon as it exceeds `limit` bytes. */
async function readBounded(response: Response, limit: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'))
  if (Number.isFinite(declared) && declared > limit) throw new RegistrationFileTooLargeError(limit, declared)
  if (response.body == null) return new Uint8Array()
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = response.body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.byteLength
      if (size > limit) throw new RegistrationFileTooLargeError(limit, size)
      chunks.push(value)
    }
  } finally {
    reader.releaseLock()
    if (size > limit) await response.body.cancel().catch(() => {})
  }
  const out = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}

/** Decodes a `data:application/json[;charset=…][;base64],…` URI to bytes, bounded before decoding. */
function decodeDataUri(uri: string): Uint8Array {
  // base64 grows 4/3; percent-encoding up to 3x. Bound the raw URI before doing any work.
  if (uri.length > MAX_REGISTRATION_FILE_BYTES * 3 + 256) {
    throw new RegistrationFileTooLargeError(MAX_REGISTRATION_FILE_BYTES)
  }
  const comma = uri.indexOf(',')
  if (comma < 0) throw new UnsupportedAgentUriError(uri, 'malformed data: URI')
  const params = uri.slice('data:'.length, comma).split(';')
  const mediaType = params[0]?.trim().toLowerCase()
  if (mediaType !== 'application/json') throw new UnsupportedAgentUriError(uri, 'data: URI must be application/json')
  const payload = uri.slice(comma + 1)
  if (params.slice(1).some((p) => p.trim().toLowerCase() === 'base64')) {
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(payload))
      throw new InvalidRegistrationFileError('data: URI has an invalid base64 payload')
    return Uint8Array.from(Buffer.from(payload, 'base64'))
  }
  try {
    return new TextEncoder().encode(decodeURIComponent(payload))
  } catch {
    throw new InvalidRegistrationFileError('data: URI has invalid percent-encoding')
  }
}

/** Encodes a registration file as a fully on-chain `data:application/json;base64,…` agentURI. */
export function registrationFileDataUri(file: RegistrationFile): `data:application/json;base64,${string}` {
  return `data:application/json;base64,${Buffer.from(encodeRegistrationFile(file)).toString('base64')}`
}
