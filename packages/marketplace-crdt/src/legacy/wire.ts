/**
 * The Go prototype's listing JSON (asabya/betar `pkg/types/types.go`), read and written byte for byte.
 *
 * `AgentListing` — an element of the `info` reply — and `AgentListingMessage` — a `betar/marketplace/listings`
 * announcement — in Go's struct order:
 *
 * ```
 * AgentListing:        id, name, price, metadata, sellerId, addrs?, protocols?, timestamp, tokenId?, onChainReputation?, agentApi?
 * AgentListingMessage: type, agentId, name, price, metadata, sellerId, addrs?, protocols?, timestamp, tokenId?, agentApi?
 * ```
 *
 * `?` marks `omitempty` (left out when empty). `price` is a `float64` in USDC, `timestamp` an `int64` of Unix seconds,
 * `tokenId` a decimal string (the ERC-8004 agent id). Reading follows Go's `json.Unmarshal` where it matters for
 * interop — unknown members are ignored, `null` and missing members are zero values, invalid UTF-8 becomes U+FFFD —
 * and adds bounds Go lacks: a size limit before parsing, a depth limit, a limit on every field, and no control
 * characters in text.
 */
import { JsonLimitError, parseBoundedJson } from '@betar/bounded-json'
import { z } from 'zod'
import { InvalidLegacyListingError, LegacyInfoError } from './errors.ts'
import { goFloat, goInt, goObject, goString, goStrings } from './go-json.ts'

/** Deepest JSON nesting of a Go listing (an object in an array in an array). */
const MAX_DEPTH = 4

// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters refused
const NO_CONTROL = /^[^\u0000-\u001f\u007f-\u009f]*$/
const LONE_SURROGATE = /\p{Cs}/gu

/**
 * Text shown to users (CLI, dashboards): C0 and C1 control characters are refused — they would let a Go peer write
 * terminal escape sequences into `betar discover` output (Go accepts them).
 */
const printable = (max: number, min = 0) =>
  z
    .string()
    .min(min)
    .max(max)
    .regex(NO_CONTROL, 'control character')
    // A lone surrogate (`"\ud800"`) reads as U+FFFD, as Go's decoder reads it.
    .transform((v) => v.replace(LONE_SURROGATE, '\ufffd'))
/** A Go `string` field: `null` or missing is `""`, as in Go. */
const goText = (max: number) =>
  printable(max)
    .nullish()
    .transform((v) => v ?? '')
/** A Go `[]string` field: `null` or missing is empty. */
const goTexts = (count: number, max: number) =>
  z
    .array(printable(max))
    .max(count)
    .nullish()
    .transform((v) => v ?? [])

const fields = {
  name: goText(128),
  /** USDC per call, as Go's `float64`. Negative prices are refused (Go would take them). */
  price: z.number().nonnegative().max(1e15),
  /** IPFS CID of Go's `AgentRegistration` JSON. */
  metadata: goText(256),
  /** The seller's peer id, as the JSON claims it: only trusted once it equals the authenticated sender. */
  sellerId: printable(128, 1),
  addrs: goTexts(16, 512),
  protocols: goTexts(16, 128),
  /** Unix seconds. */
  timestamp: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  tokenId: z
    .string()
    .regex(/^(|0|[1-9][0-9]{0,77})$/, 'decimal ERC-8004 agent id')
    .nullish()
    .transform((v) => v ?? ''),
  /** Newer Go versions' optional HTTP endpoint of the agent. */
  agentApi: goText(512)
}

const id = printable(256, 1)

/** Go's `AgentListing`, the element of an `info` reply (`onChainReputation` is ignored: it is Go's API enrichment). */
export const GoAgentListingSchema = z.object({ id, ...fields })

/** Go's `AgentListingMessage`, a `betar/marketplace/listings` announcement. `update` means the same as `list`. */
export const GoAgentListingMessageSchema = z.object({
  type: z.enum(['list', 'update', 'delist']),
  agentId: id,
  ...fields
})

export type GoAgentListing = z.output<typeof GoAgentListingSchema>
export type GoAgentListingMessage = z.output<typeof GoAgentListingMessageSchema>
/** What the encoders take: the `omitempty` members may be left out. */
export type GoAgentListingInput = z.input<typeof GoAgentListingSchema>
export type GoAgentListingMessageInput = z.input<typeof GoAgentListingMessageSchema>

const utf8 = new TextEncoder()

function parse(data: Uint8Array, maxBytes: number): unknown {
  if (data.byteLength > maxBytes) {
    throw new InvalidLegacyListingError('size', `${data.byteLength} bytes, over the ${maxBytes}-byte limit`)
  }
  try {
    // Go reads invalid UTF-8 as U+FFFD rather than refusing it.
    return parseBoundedJson(data, { maxBytes, maxDepth: MAX_DEPTH, utf8: 'lenient' })
  } catch (err) {
    if (err instanceof JsonLimitError) {
      throw new InvalidLegacyListingError(err.reason === 'size' ? 'size' : 'json', err.message, { cause: err })
    }
    throw err
  }
}

function schemaError(error: z.ZodError): InvalidLegacyListingError {
  const issue = error.issues[0]
  return new InvalidLegacyListingError('schema', `${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}`)
}

/**
 * Decodes a `betar/marketplace/listings` announcement. The size is checked before anything is parsed.
 *
 * @throws InvalidLegacyListingError (`size`, `json` or `schema`)
 */
export function decodeAnnouncement(data: Uint8Array, maxBytes: number): GoAgentListingMessage {
  const parsed = GoAgentListingMessageSchema.safeParse(parse(data, maxBytes))
  if (!parsed.success) throw schemaError(parsed.error)
  return parsed.data
}

/** One Go `AgentListing`, validated. @throws InvalidLegacyListingError (`schema`) */
export function decodeListing(value: unknown): GoAgentListing {
  const parsed = GoAgentListingSchema.safeParse(value)
  if (!parsed.success) throw schemaError(parsed.error)
  return parsed.data
}

/** An `info` reply: the valid listings among its first `maxListings` elements, and how many were invalid or left out. */
export interface InfoReply {
  listings: GoAgentListing[]
  invalid: number
  truncated: number
}

/**
 * Decodes the data of an `info` reply: a JSON array of Go `AgentListing`s (`null` is an empty one). Only the first
 * `maxListings` elements are validated, each on its own, so one bad element costs only itself.
 *
 * @throws InvalidLegacyListingError (`size`) over `maxBytes`
 * @throws LegacyInfoError when the data is not a JSON array: Go answers an error as plain text in the same frame
 */
export function decodeInfoReply(data: Uint8Array, maxBytes: number, maxListings: number): InfoReply {
  let value: unknown
  try {
    value = parse(data, maxBytes)
  } catch (err) {
    if (err instanceof InvalidLegacyListingError && err.reason === 'size') throw err
    throw new LegacyInfoError(`info reply is not JSON: ${textPreview(data)}`, { cause: err })
  }
  if (value === null) return { listings: [], invalid: 0, truncated: 0 }
  if (!Array.isArray(value)) throw new LegacyInfoError('info reply is not a JSON array')
  const listings: GoAgentListing[] = []
  let invalid = 0
  const n = Math.min(value.length, maxListings)
  for (let i = 0; i < n; i++) {
    const parsed = GoAgentListingSchema.safeParse(value[i])
    if (parsed.success) listings.push(parsed.data)
    else invalid++
  }
  return { listings, invalid, truncated: value.length - n }
}

function textPreview(data: Uint8Array): string {
  return JSON.stringify(new TextDecoder().decode(data.subarray(0, 120)))
}

function members(l: GoAgentListingInput | GoAgentListingMessageInput) {
  const addrs = l.addrs ?? []
  const protocols = l.protocols ?? []
  return {
    name: goString(l.name ?? ''),
    price: goFloat(l.price),
    metadata: goString(l.metadata ?? ''),
    sellerId: goString(l.sellerId),
    addrs: addrs.length > 0 ? goStrings(addrs) : undefined,
    protocols: protocols.length > 0 ? goStrings(protocols) : undefined,
    timestamp: goInt(l.timestamp),
    tokenId: l.tokenId != null && l.tokenId !== '' ? goString(l.tokenId) : undefined,
    agentApi: l.agentApi != null && l.agentApi !== '' ? goString(l.agentApi) : undefined
  }
}

/** An announcement exactly as Go's `json.Marshal(AgentListingMessage)` writes it. */
export function encodeAnnouncement(message: GoAgentListingMessageInput): Uint8Array {
  const m = members(message)
  return utf8.encode(
    goObject([
      ['type', goString(message.type)],
      ['agentId', goString(message.agentId)],
      ['name', m.name],
      ['price', m.price],
      ['metadata', m.metadata],
      ['sellerId', m.sellerId],
      ['addrs', m.addrs],
      ['protocols', m.protocols],
      ['timestamp', m.timestamp],
      ['tokenId', m.tokenId],
      ['agentApi', m.agentApi]
    ])
  )
}

/** One listing exactly as Go's `json.Marshal(AgentListing)` writes it (without `onChainReputation`). */
export function encodeListing(listing: GoAgentListingInput): string {
  const m = members(listing)
  return goObject([
    ['id', goString(listing.id)],
    ['name', m.name],
    ['price', m.price],
    ['metadata', m.metadata],
    ['sellerId', m.sellerId],
    ['addrs', m.addrs],
    ['protocols', m.protocols],
    ['timestamp', m.timestamp],
    ['tokenId', m.tokenId],
    ['agentApi', m.agentApi]
  ])
}

/** The data of an `info` reply: a JSON array of listings, as Go's `json.Marshal([]*AgentListing)` writes it. */
export function encodeInfoReply(listings: readonly GoAgentListingInput[]): Uint8Array {
  return utf8.encode(`[${listings.map(encodeListing).join(',')}]`)
}
