import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { x402Facilitator } from '@x402/core/facilitator'
import { PaymentPayloadV2Schema, PaymentRequirementsV2Schema, type z } from '@x402/core/schemas'
import type {
  Network,
  PaymentPayload,
  PaymentRequirements,
  ResourceInfo,
  SettleResponse,
  SupportedResponse,
  VerifyResponse
} from '@x402/core/types'
import { ExactEvmScheme } from '@x402/evm/exact/facilitator'
import {
  type Address,
  type Chain,
  createTestClient,
  createWalletClient,
  http,
  type LocalAccount,
  parseEther,
  publicActions
} from 'viem'
import { createNonceManager, jsonRpc } from 'viem/nonce'
import { type DevnetAccount, deriveAccount } from './accounts.ts'
import { DEVNET_MNEMONIC, ROLE_INDEX } from './constants.ts'
import type { Devnet } from './devnet.ts'
import { facilitatorSigner } from './facilitator-signer.ts'

/** Largest request body the facilitator reads: x402 v2 verify/settle bodies are about 1.5 KiB. Larger → 413. */
export const FACILITATOR_MAX_BODY_BYTES = 64 * 1024

/**
 * HD address index (`m/44'/60'/0'/0/1003`) of the devnet facilitator's gas payer. It sits next to the other
 * infrastructure roles (deployer 1000, USDC proxy admin 1001, USDC owner 1002), far above the user accounts, so its
 * nonces never collide with theirs or with the deployer's.
 */
export const FACILITATOR_ROLE_INDEX = ROLE_INDEX.facilitator

/** How often the settling client polls anvil for receipts. viem's default on a local chain is 4 s (x402.md §9). */
const POLLING_INTERVAL_MS = 20

/** After a 413 we discard at most this much more of the request before dropping the connection. */
const DRAIN_LIMIT_BYTES = 1024 * 1024

/** ETH the devnet facilitator's gas payer is topped up to. */
const FACILITATOR_ETH = parseEther('1000')

/** Options for {@link startFacilitator}. */
export interface StartFacilitatorOptions {
  /** JSON-RPC endpoint of the chain to settle on. */
  rpcUrl: string
  /** The viem chain behind `rpcUrl` (its `id` gives the default network). */
  chain: Chain
  /** Pays the gas of every settlement. Give it an account nothing else sends from (nonces are managed in-process). */
  account: LocalAccount
  /** CAIP-2 networks served, all settled on `rpcUrl`. @default [`eip155:${chain.id}`] */
  networks?: `eip155:${number}`[]
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number
  /** Interface to bind. Keep it on loopback: the API is unauthenticated and spends `account`'s gas. @default '127.0.0.1' */
  host?: string
  /** Stops the server when aborted (and fails start-up if aborted first). */
  signal?: AbortSignal
  /**
   * How long a settlement waits for its receipt before answering `success:false` with `errorReason`
   * `settlement_pending` and the broadcast hash (x402.md §6.3). @default 180_000 (the `@x402/evm` default)
   */
  confirmationTimeoutMs?: number
}

/** A running facilitator (see {@link startFacilitator}). */
export interface FacilitatorServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`; give it to `HTTPFacilitatorClient({ url })`. No trailing slash. */
  readonly url: string
  /** The gas payer; also listed under `signers["eip155:*"]` in `GET /supported`. */
  readonly address: Address
  /** Stops accepting connections, lets in-flight requests finish, then closes every connection. Idempotent. */
  stop(): Promise<void>
}

/** Options for {@link startDevnetFacilitator}. */
export interface StartDevnetFacilitatorOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. @default 0 */
  port?: number
  /** Stops the server when aborted. */
  signal?: AbortSignal
  /** Mnemonic the devnet was started with; the gas payer is its index {@link FACILITATOR_ROLE_INDEX}. @default DEVNET_MNEMONIC */
  mnemonic?: string
  /** Receipt wait bound, see {@link StartFacilitatorOptions.confirmationTimeoutMs}. */
  confirmationTimeoutMs?: number
}

/** A request to the facilitator was refused before reaching the x402 logic (bad JSON, wrong shape, …). */
export class FacilitatorRequestError extends Error {
  static override name = 'FacilitatorRequestError'
  /** HTTP status to answer with (400 or 413). */
  readonly status: number
  /** x402 reason code put in `invalidReason` / `errorReason`. */
  readonly reason: string

  constructor(status: number, reason: string, message: string) {
    super(message)
    this.name = 'FacilitatorRequestError'
    this.status = status
    this.reason = reason
  }
}

/** The request body exceeded {@link FACILITATOR_MAX_BODY_BYTES}. */
export class FacilitatorBodyTooLargeError extends FacilitatorRequestError {
  static override name = 'FacilitatorBodyTooLargeError'

  constructor(limit: number) {
    super(413, 'invalid_payload', `request body exceeds ${limit} bytes`)
    this.name = 'FacilitatorBodyTooLargeError'
  }
}

/** Derives the devnet facilitator's gas payer: index {@link FACILITATOR_ROLE_INDEX} of `mnemonic`. */
export function deriveFacilitatorAccount(mnemonic: string = DEVNET_MNEMONIC): DevnetAccount {
  return deriveAccount(mnemonic, FACILITATOR_ROLE_INDEX)
}

/**
 * Starts a real x402 facilitator over HTTP: the official `x402Facilitator` (`@x402/core/facilitator`) with the
 * official `exact` EVM scheme (`@x402/evm/exact/facilitator`, EIP-3009), settling with `account` through a viem
 * wallet client, served with `node:http` on loopback.
 *
 * Endpoints (x402 v2 spec §7):
 * - `GET /supported` → `{ kinds: [{ x402Version: 2, scheme: 'exact', network }], extensions: [], signers }`
 * - `POST /verify` `{ x402Version, paymentPayload, paymentRequirements }` → `200 VerifyResponse`
 * - `POST /settle` (same body) → `200 SettleResponse`; a payment that cannot be settled is a `200` with
 *   `success: false`, `errorReason` and `transaction: ""`, as in the spec.
 *
 * Unsupported version/scheme/network answer `200` with `invalid_x402_version` / `unsupported_scheme` /
 * `invalid_network`. Malformed requests answer `400` (`invalid_payload` or `invalid_payment_requirements`, body in
 * the endpoint's response shape), bodies over 64 KiB `413`, unknown paths `404`, wrong methods `405` (with
 * `Allow`), and unexpected failures (e.g. the RPC is down) `500` with `unexpected_verify_error` /
 * `unexpected_settle_error`.
 *
 * Concurrent settlements are safe: the account gets its own viem nonce manager.
 *
 * @example
 * ```ts
 * const facilitator = await startFacilitator({ rpcUrl, chain, account: privateKeyToAccount(key) })
 * const client = new HTTPFacilitatorClient({ url: facilitator.url })
 * const settled = await client.settle(paymentPayload, paymentRequirements)
 * await facilitator.stop()
 * ```
 */
export async function startFacilitator(options: StartFacilitatorOptions): Promise<FacilitatorServer> {
  const { chain, signal } = options
  const host = options.host ?? '127.0.0.1'
  const port = options.port ?? 0
  const networks = options.networks ?? [`eip155:${chain.id}` as const]
  if (networks.length === 0) throw new RangeError('networks must not be empty')
  for (const network of networks) {
    if (!/^eip155:\d+$/.test(network)) throw new RangeError(`not an EVM CAIP-2 network: "${network}"`)
  }
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`invalid port ${port}`)
  const timeout = options.confirmationTimeoutMs
  if (timeout != null && !(Number.isSafeInteger(timeout) && timeout > 0)) {
    throw new RangeError('confirmationTimeoutMs must be a positive integer')
  }
  signal?.throwIfAborted()

  const facilitator = createX402Facilitator({ ...options, networks })
  const supported = facilitator.getSupported() as SupportedResponse

  const inflight = new Set<Promise<void>>()
  const reading = new Set<IncomingMessage>()
  const server = createServer((req, res) => {
    const handled = handle(facilitator, supported, reading, req, res).catch((err: unknown) => {
      // Last resort: `handle` answers every expected failure itself.
      if (!res.headersSent) sendJson(res, 500, { error: 'internal_error', message: errorMessage(err) })
      else res.destroy()
    })
    inflight.add(handled)
    void handled.finally(() => inflight.delete(handled))
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })

  let stopping: Promise<void> | undefined
  const onAbort = (): void => {
    void stop()
  }
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      signal?.removeEventListener('abort', onAbort)
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      // Requests still uploading their body have not reached the chain: drop them. Those already verifying or
      // settling are allowed to finish (bounded by the RPC timeouts and confirmationTimeoutMs).
      for (const req of reading) req.socket.destroy()
      await Promise.allSettled([...inflight])
      server.closeAllConnections()
      await closed
    })()
    return stopping
  }

  if (signal != null) {
    if (signal.aborted) {
      await stop()
      signal.throwIfAborted()
    }
    signal.addEventListener('abort', onAbort, { once: true })
  }

  const { port: bound } = server.address() as AddressInfo
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    address: options.account.address,
    stop
  }
}

/**
 * Starts a {@link startFacilitator | facilitator} on 127.0.0.1 for a devnet. Its gas payer is a dedicated role
 * account ({@link FACILITATOR_ROLE_INDEX}, see {@link deriveFacilitatorAccount}), topped up to 1000 ETH with anvil's
 * `setBalance`, so it never competes for nonces with the user accounts or the deployer. Serves the devnet's CAIP-2
 * network (`eip155:31337` by default). Run one per devnet: two facilitators settling from the same account would
 * race for its nonces.
 *
 * @example
 * ```ts
 * const devnet = await startDevnet({ accounts: 3 })
 * const facilitator = await startDevnetFacilitator(devnet)
 * // sellers: new HTTPFacilitatorClient({ url: facilitator.url })
 * await facilitator.stop()
 * await devnet.stop()
 * ```
 */
export async function startDevnetFacilitator(
  devnet: Devnet,
  options: StartDevnetFacilitatorOptions = {}
): Promise<FacilitatorServer> {
  const { signal } = options
  signal?.throwIfAborted()
  const payer = deriveFacilitatorAccount(options.mnemonic)
  const testClient = createTestClient({ chain: devnet.chain, transport: http(devnet.rpcUrl), mode: 'anvil' })
  await testClient.setBalance({ address: payer.address, value: FACILITATOR_ETH })
  return startFacilitator({
    rpcUrl: devnet.rpcUrl,
    chain: devnet.chain,
    account: payer.account,
    networks: [devnet.network.caip2],
    ...(options.port != null ? { port: options.port } : {}),
    ...(signal != null ? { signal } : {}),
    ...(options.confirmationTimeoutMs != null ? { confirmationTimeoutMs: options.confirmationTimeoutMs } : {})
  })
}

/** Builds the official facilitator: `ExactEvmScheme` over a viem wallet client with a private nonce manager. */
function createX402Facilitator(options: StartFacilitatorOptions & { networks: `eip155:${number}`[] }): x402Facilitator {
  // A nonce manager per facilitator (not viem's shared singleton): concurrent settlements get consecutive nonces,
  // and a devnet restarted in the same process starts again from the chain's count.
  const account: LocalAccount = {
    ...options.account,
    nonceManager: options.account.nonceManager ?? createNonceManager({ source: jsonRpc() })
  }
  const client = createWalletClient({
    account,
    chain: options.chain,
    transport: http(options.rpcUrl),
    pollingInterval: POLLING_INTERVAL_MS
  }).extend(publicActions)

  const signer = facilitatorSigner(client, {
    pollingInterval: POLLING_INTERVAL_MS,
    ...(options.confirmationTimeoutMs != null ? { confirmationTimeoutMs: options.confirmationTimeoutMs } : {})
  })
  return new x402Facilitator().register(options.networks, new ExactEvmScheme(signer))
}

/** The two POST endpoints, whose failures share their success shape. */
type Endpoint = 'verify' | 'settle'

/** Routes and their allowed methods. */
const ROUTES: Record<string, { methods: readonly string[]; endpoint: Endpoint | 'supported' }> = {
  '/supported': { methods: ['GET', 'HEAD'], endpoint: 'supported' },
  '/verify': { methods: ['POST'], endpoint: 'verify' },
  '/settle': { methods: ['POST'], endpoint: 'settle' }
}

/** Answers one HTTP request. Never throws for expected failures. */
async function handle(
  facilitator: x402Facilitator,
  supported: SupportedResponse,
  reading: Set<IncomingMessage>,
  req: IncomingMessage,
  res: ServerResponse
): Promise<void> {
  const path = pathOf(req.url)
  const route = path == null ? undefined : ROUTES[path]
  if (route == null) {
    drain(req)
    sendJson(res, 404, { error: 'not_found', message: `no route ${req.method ?? ''} ${path ?? req.url ?? ''}` })
    return
  }
  if (!route.methods.includes(req.method ?? '')) {
    drain(req)
    res.setHeader('Allow', route.methods.join(', '))
    sendJson(res, 405, { error: 'method_not_allowed', message: `${path} accepts ${route.methods.join(', ')}` })
    return
  }
  if (route.endpoint === 'supported') {
    drain(req)
    sendJson(res, 200, supported)
    return
  }

  const endpoint = route.endpoint
  let parsed: ParsedRequest
  try {
    reading.add(req)
    parsed = parseRequest(await readBody(req, FACILITATOR_MAX_BODY_BYTES), supported)
  } catch (err) {
    if (req.socket.destroyed) return // the client went away (or stop() dropped it) mid-upload
    if (!(err instanceof FacilitatorRequestError)) throw err
    if (err instanceof FacilitatorBodyTooLargeError) {
      res.setHeader('Connection', 'close')
      drain(req, DRAIN_LIMIT_BYTES)
    }
    sendJson(res, err.status, failureBody(endpoint, err.reason, err.message, ''))
    return
  } finally {
    reading.delete(req)
  }
  if ('unsupported' in parsed) {
    sendJson(res, 200, failureBody(endpoint, parsed.unsupported, parsed.message, parsed.network))
    return
  }

  const { payload, requirements } = parsed
  try {
    const result =
      endpoint === 'verify'
        ? await facilitator.verify(payload, requirements)
        : await facilitator.settle(payload, requirements)
    sendJson(res, 200, result)
  } catch (err) {
    const reason = endpoint === 'verify' ? 'unexpected_verify_error' : 'unexpected_settle_error'
    sendJson(res, 500, failureBody(endpoint, reason, errorMessage(err), requirements.network))
  }
}

/** A request the x402 logic can handle, or a well-formed one for a version/scheme/network not served here. */
type ParsedRequest =
  | { payload: PaymentPayload; requirements: PaymentRequirements }
  | { unsupported: 'invalid_x402_version' | 'unsupported_scheme' | 'invalid_network'; message: string; network: string }

/** Validates a verify/settle body with the official zod schemas (`@x402/core/schemas`). */
function parseRequest(raw: Buffer, supported: SupportedResponse): ParsedRequest {
  let body: unknown
  try {
    body = JSON.parse(raw.toString('utf8'))
  } catch {
    throw new FacilitatorRequestError(400, 'invalid_payload', 'request body is not valid JSON')
  }
  if (!isRecord(body)) {
    throw new FacilitatorRequestError(
      400,
      'invalid_payload',
      'body must be { x402Version, paymentPayload, paymentRequirements }'
    )
  }
  const { paymentPayload, paymentRequirements } = body
  if (!isRecord(paymentPayload))
    throw new FacilitatorRequestError(400, 'invalid_payload', 'paymentPayload must be an object')
  if (!isRecord(paymentRequirements)) {
    throw new FacilitatorRequestError(400, 'invalid_payment_requirements', 'paymentRequirements must be an object')
  }
  const version = paymentPayload.x402Version
  if (typeof version !== 'number') {
    throw new FacilitatorRequestError(400, 'invalid_payload', 'paymentPayload.x402Version must be a number')
  }
  if (body.x402Version != null && body.x402Version !== version) {
    throw new FacilitatorRequestError(
      400,
      'invalid_x402_version',
      'x402Version differs from paymentPayload.x402Version'
    )
  }
  const requestedNetwork = typeof paymentRequirements.network === 'string' ? paymentRequirements.network : ''
  if (!supported.kinds.some((k) => k.x402Version === version)) {
    return {
      unsupported: 'invalid_x402_version',
      message: `x402 version ${version} is not supported`,
      network: requestedNetwork
    }
  }

  const payload = PaymentPayloadV2Schema.safeParse(paymentPayload)
  if (!payload.success)
    throw new FacilitatorRequestError(400, 'invalid_payload', `paymentPayload: ${issues(payload.error)}`)
  const requirements = PaymentRequirementsV2Schema.safeParse(paymentRequirements)
  if (!requirements.success) {
    throw new FacilitatorRequestError(
      400,
      'invalid_payment_requirements',
      `paymentRequirements: ${issues(requirements.error)}`
    )
  }

  const { scheme, network } = requirements.data
  const kinds = supported.kinds.filter((k) => k.x402Version === version && k.scheme === scheme)
  if (kinds.length === 0)
    return { unsupported: 'unsupported_scheme', message: `scheme "${scheme}" is not supported`, network }
  if (!kinds.some((k) => k.network === network)) {
    return { unsupported: 'invalid_network', message: `network "${network}" is not supported`, network }
  }
  return { payload: toPaymentPayload(payload.data), requirements: toRequirements(requirements.data) }
}

/** Zod's output → core's `PaymentRequirements` (`extra` is required there). */
function toRequirements(data: z.infer<typeof PaymentRequirementsV2Schema>): PaymentRequirements {
  return {
    scheme: data.scheme,
    network: data.network as Network,
    asset: data.asset,
    amount: data.amount,
    payTo: data.payTo,
    maxTimeoutSeconds: data.maxTimeoutSeconds,
    extra: data.extra ?? {}
  }
}

/** Zod's output → core's `PaymentPayload`, dropping absent optional fields. */
function toPaymentPayload(data: z.infer<typeof PaymentPayloadV2Schema>): PaymentPayload {
  const payload: PaymentPayload = {
    x402Version: data.x402Version,
    accepted: toRequirements(data.accepted),
    payload: data.payload
  }
  if (data.resource != null) {
    const resource: ResourceInfo = { url: data.resource.url }
    for (const key of ['description', 'mimeType', 'serviceName', 'iconUrl'] as const) {
      const value = data.resource[key]
      if (value != null) resource[key] = value
    }
    if (data.resource.tags != null) resource.tags = data.resource.tags
    payload.resource = resource
  }
  if (data.extensions != null) payload.extensions = data.extensions
  return payload
}

/** A failure in the endpoint's own response shape (spec §7): `VerifyResponse` or `SettleResponse`. */
function failureBody(
  endpoint: Endpoint,
  reason: string,
  message: string,
  network: string
): VerifyResponse | SettleResponse {
  if (endpoint === 'verify') return { isValid: false, invalidReason: reason, invalidMessage: message }
  return { success: false, errorReason: reason, errorMessage: message, transaction: '', network: network as Network }
}

/** Reads the whole body, refusing more than `limit` bytes (by `Content-Length` first, then by counting). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new FacilitatorBodyTooLargeError(limit))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const cleanup = (): void => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > limit) {
        cleanup()
        reject(new FacilitatorBodyTooLargeError(limit))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = (): void => {
      cleanup()
      resolve(Buffer.concat(chunks, size))
    }
    const onError = (err: Error): void => {
      cleanup()
      reject(err)
    }
    const onClose = (): void => {
      cleanup()
      reject(new Error('request closed before its body was read'))
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('close', onClose)
  })
}

/** Discards the rest of a request body (so keep-alive and early responses work), dropping the socket past `limit`. */
function drain(req: IncomingMessage, limit = FACILITATOR_MAX_BODY_BYTES): void {
  if (req.readableEnded) return
  let size = 0
  req.on('data', (chunk: Buffer) => {
    size += chunk.length
    if (size > limit) req.socket.destroy()
  })
  req.on('error', () => {})
  req.resume()
}

/** Writes a JSON response with an exact `Content-Length`. */
function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store'
  })
  res.end(text)
}

/** The request target's path, or `undefined` when it cannot be parsed. */
function pathOf(target: string | undefined): string | undefined {
  try {
    return new URL(target ?? '/', 'http://localhost').pathname
  } catch {
    return undefined
  }
}

/** A plain JSON object (not null, not an array). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value != null && !Array.isArray(value)
}

/** The first few zod issues as `path: message`. */
function issues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ')
}

/** An error's message, capped at 500 characters like the official `errorMessage`. */
function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.length > 500 ? `${text.slice(0, 497)}...` : text
}
