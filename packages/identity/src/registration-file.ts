import { JsonLimitError, parseBoundedJson } from '@betar/bounded-json'
import { REGISTRATION_FILE_TYPE } from '@betar/contracts'
import type { PeerId } from '@libp2p/interface'
import { z } from 'zod'
import { type AgentRegistryId, sameAgentRegistry } from './agent-registry.ts'
import {
  LIBP2P_SERVICE_NAME,
  MAX_REGISTRATION_FILE_BYTES,
  MAX_REGISTRATION_FILE_DEPTH,
  MAX_REGISTRATIONS,
  MAX_SERVICES,
  X402_LIBP2P_PROTOCOLS
} from './constants.ts'
import { InvalidRegistrationFileError, RegistrationFileTooLargeError } from './errors.ts'

const text = (max: number) => z.string().max(max)

/** One `services` entry: `name`, `endpoint`, optional `version`, plus any service-specific fields (kept). */
export const ServiceSchema = z.looseObject({
  name: text(64).min(1),
  endpoint: text(2048),
  version: text(64).optional()
})

/** One `registrations` entry: the agent's id in one Identity Registry, `eip155:<chainId>:<address>`. */
export const RegistrationSchema = z.strictObject({
  agentId: z.union([
    z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'decimal agentId')
  ]),
  agentRegistry: z.string().regex(/^eip155:[0-9]{1,12}:0x[0-9a-fA-F]{40}$/, 'eip155:<chainId>:<address>')
})

/** The Betar `libp2p` service entry: how to reach the agent's peer and which protocols it speaks. */
export const Libp2pServiceSchema = z.looseObject({
  name: z.literal(LIBP2P_SERVICE_NAME),
  endpoint: text(256),
  peerId: text(128).min(1),
  multiaddrs: z.array(text(512)).max(16),
  protocols: z.array(text(128)).max(16)
})

/** Renames the pre-2026 `endpoints` array to `services` (when `services` is absent). */
function normaliseLegacy(input: unknown): unknown {
  if (input == null || typeof input !== 'object' || Array.isArray(input)) return input
  const { endpoints, ...rest } = input as Record<string, unknown>
  if (endpoints === undefined) return input
  return 'services' in rest ? rest : { ...rest, services: endpoints }
}

const RegistrationFileObject = z.looseObject({
  type: z.literal(REGISTRATION_FILE_TYPE),
  name: text(256).min(1),
  description: text(16_384),
  image: text(8192).optional(),
  services: z.array(ServiceSchema).max(MAX_SERVICES).default([]),
  registrations: z.array(RegistrationSchema).max(MAX_REGISTRATIONS).default([]),
  supportedTrust: z.array(text(64)).max(16).optional(),
  x402Support: z.boolean().optional(),
  active: z.boolean().optional()
})

/**
 * An ERC-8004 registration file (the document an agentURI points at), as the 2026-01-25 draft defines it. Parsing
 * accepts the legacy `endpoints` array as `services` and keeps unknown fields (e.g. agent0-sdk's `updatedAt`).
 */
export const RegistrationFileSchema = z.preprocess(normaliseLegacy, RegistrationFileObject)

export type Service = z.infer<typeof ServiceSchema>
export type Registration = z.infer<typeof RegistrationSchema>
export type Libp2pService = z.infer<typeof Libp2pServiceSchema>
export type RegistrationFile = z.output<typeof RegistrationFileObject>

/** Validates an already-decoded registration file; throws {@link InvalidRegistrationFileError}. */
export function parseRegistrationFile(input: unknown): RegistrationFile {
  const result = RegistrationFileSchema.safeParse(input)
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    throw new InvalidRegistrationFileError('invalid registration file', issues)
  }
  return result.data
}

/**
 * Decodes and validates a registration file from its JSON bytes (or text), enforcing
 * {@link MAX_REGISTRATION_FILE_BYTES} and {@link MAX_REGISTRATION_FILE_DEPTH} (checked before parsing: the file keeps
 * unknown fields, which are re-encoded later). Throws {@link RegistrationFileTooLargeError} or
 * {@link InvalidRegistrationFileError}.
 */
export function decodeRegistrationFile(bytes: Uint8Array | string): RegistrationFile {
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes
  if (data.byteLength > MAX_REGISTRATION_FILE_BYTES) {
    throw new RegistrationFileTooLargeError(MAX_REGISTRATION_FILE_BYTES, data.byteLength)
  }
  let json: unknown
  try {
    json = parseBoundedJson(data, { maxDepth: MAX_REGISTRATION_FILE_DEPTH })
  } catch (cause) {
    const deep = cause instanceof JsonLimitError && cause.reason === 'depth'
    const reason = deep ? `nests more than ${MAX_REGISTRATION_FILE_DEPTH} levels deep` : 'is not UTF-8 JSON'
    throw new InvalidRegistrationFileError(`registration file ${reason}`, [], { cause })
  }
  return parseRegistrationFile(json)
}

/** Validates `file` and encodes it as UTF-8 JSON, enforcing {@link MAX_REGISTRATION_FILE_BYTES}. */
export function encodeRegistrationFile(file: RegistrationFile): Uint8Array {
  const bytes = new TextEncoder().encode(JSON.stringify(parseRegistrationFile(file)))
  if (bytes.byteLength > MAX_REGISTRATION_FILE_BYTES) {
    throw new RegistrationFileTooLargeError(MAX_REGISTRATION_FILE_BYTES, bytes.byteLength)
  }
  return bytes
}

/** Input of {@link buildRegistrationFile}. */
export interface BuildRegistrationFileInit {
  name: string
  description: string
  /** Image URL (ERC-721 metadata compatible). */
  image?: string
  /** The agent's libp2p peer id (the seller peer of its marketplace listings). */
  peerId: PeerId | string
  /** Multiaddrs to dial the agent, e.g. `libp2p.getMultiaddrs()`. */
  multiaddrs: ReadonlyArray<{ toString(): string } | string>
  /** Protocols the agent speaks. @default {@link X402_LIBP2P_PROTOCOLS} */
  protocols?: readonly string[]
  x402Support: boolean
  /** @default true */
  active?: boolean
  /** Known registrations; {@link registerAgent} adds the new one itself. @default [] */
  registrations?: readonly Registration[]
  /** Extra services (web, A2A, MCP, …) listed before the `libp2p` entry. */
  services?: readonly Service[]
  supportedTrust?: readonly string[]
}

/**
 * Builds a validated registration file whose `services` end with the Betar `libp2p` entry
 * `{ name: 'libp2p', endpoint: '/p2p/<peerId>', peerId, multiaddrs, protocols }`.
 *
 * @example
 * ```ts
 * const file = buildRegistrationFile({
 *   name: 'summarizer', description: 'Summarises text for USDC', x402Support: true,
 *   peerId: libp2p.peerId, multiaddrs: libp2p.getMultiaddrs()
 * })
 * ```
 */
export function buildRegistrationFile(init: BuildRegistrationFileInit): RegistrationFile {
  const peerId = init.peerId.toString()
  const libp2p: Libp2pService = {
    name: LIBP2P_SERVICE_NAME,
    endpoint: `/p2p/${peerId}`,
    peerId,
    multiaddrs: init.multiaddrs.map((m) => m.toString()),
    protocols: [...(init.protocols ?? X402_LIBP2P_PROTOCOLS)]
  }
  return parseRegistrationFile({
    type: REGISTRATION_FILE_TYPE,
    name: init.name,
    description: init.description,
    ...(init.image != null ? { image: init.image } : {}),
    services: [...(init.services ?? []), libp2p],
    x402Support: init.x402Support,
    active: init.active ?? true,
    registrations: [...(init.registrations ?? [])],
    ...(init.supportedTrust != null ? { supportedTrust: [...init.supportedTrust] } : {})
  })
}

/** The file's valid `libp2p` service entries (usually one). */
export function libp2pServices(file: RegistrationFile): Libp2pService[] {
  const found: Libp2pService[] = []
  for (const service of file.services) {
    if (service.name !== LIBP2P_SERVICE_NAME) continue
    const parsed = Libp2pServiceSchema.safeParse(service)
    if (parsed.success) found.push(parsed.data)
  }
  return found
}

/** Formats an agentId for `registrations`: a JSON number when safe, else a decimal string. */
export function registrationAgentId(agentId: bigint): number | string {
  return agentId <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(agentId) : agentId.toString()
}

/** Returns a copy of `file` whose registration for `agentRegistry` is `agentId` (others kept). */
export function withRegistration(
  file: RegistrationFile,
  agentId: bigint,
  agentRegistry: AgentRegistryId
): RegistrationFile {
  const others = file.registrations.filter((r) => !sameAgentRegistry(r.agentRegistry, agentRegistry))
  return parseRegistrationFile({
    ...file,
    registrations: [...others, { agentId: registrationAgentId(agentId), agentRegistry }]
  })
}

/** Whether `file` lists `agentId` in the registry `agentRegistry`. */
export function hasRegistration(file: RegistrationFile, agentId: bigint, agentRegistry: string): boolean {
  return file.registrations.some(
    (r) => BigInt(r.agentId) === agentId && sameAgentRegistry(r.agentRegistry, agentRegistry)
  )
}
