import { z } from 'zod'

/** Version of the listing schema this package writes and reads. */
export const LISTING_SCHEMA_VERSION = 1

/** Longest a listing may live without a refresh (a seller heartbeats well before). */
export const MAX_LISTING_TTL_MS = 24 * 60 * 60 * 1000

const text = (max: number) => z.string().max(max)
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'EVM address')
const caip2 = z.string().regex(/^eip155:[0-9]{1,12}$/, 'CAIP-2 eip155 network')
/** A JSON Schema document, bounded in size when the envelope is (see {@link MAX_ENVELOPE_SIZE}). */
const jsonSchema = z.record(z.string(), z.unknown())

/** x402 v2 `exact` requirements a buyer can pay preemptively, as advertised in the listing. */
export const ListingPriceSchema = z.strictObject({
  scheme: z.literal('exact'),
  network: caip2,
  amount: z.string().regex(/^[1-9][0-9]{0,77}$/, 'positive integer amount in atomic units'),
  asset: address,
  payTo: address,
  maxTimeoutSeconds: z.number().int().positive().max(3600),
  extra: z.strictObject({ name: text(64), version: text(16) })
})

/** An agent for sale, as its seller signed it. Every field is bounded: listings come from untrusted peers. */
export const ListingSchema = z.strictObject({
  v: z.literal(LISTING_SCHEMA_VERSION),
  kind: z.literal('listing'),
  /** Seller-chosen id, unique per seller. */
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  /** The seller's libp2p peer id: the listing's signer. */
  seller: z.string().min(1).max(128),
  /** libp2p multiaddrs to dial the seller. */
  multiaddrs: z.array(text(512)).max(16),
  /** Protocols the seller speaks, e.g. `/x402/libp2p/2.0.0`. */
  protocols: z.array(text(128)).min(1).max(8),
  /** The x402 resource name to call on the seller. */
  resource: text(256).min(1),
  name: text(128).min(1),
  description: text(2048),
  /** Capability tags used for discovery (lower-case, `[a-z0-9._-]`). */
  capabilities: z
    .array(z.string().regex(/^[a-z0-9._-]{1,64}$/))
    .min(1)
    .max(32),
  inputSchema: jsonSchema.optional(),
  outputSchema: jsonSchema.optional(),
  price: ListingPriceSchema,
  /** ERC-8004 identity, when registered: `agentRegistry` is `eip155:<chainId>:<identityRegistry>`. */
  erc8004: z
    .strictObject({
      agentId: z.string().regex(/^(0|[1-9][0-9]{0,77})$/),
      agentRegistry: z.string().regex(/^eip155:[0-9]{1,12}:0x[0-9a-fA-F]{40}$/)
    })
    .optional(),
  /**
   * Position of this version in its key's chain: the Yjs clock of the item that carries it (one Yjs client per key, see
   * `entryClientId`). Signed, so a replayed record cannot take another version's slot. Set by the writing document.
   */
  seq: z
    .number()
    .int()
    .nonnegative()
    .max(2 ** 32)
    .optional(),
  /** Unix ms. */
  createdAt: z.number().int().nonnegative(),
  /** Unix ms; strictly increases with every change (the listing's version). */
  updatedAt: z.number().int().nonnegative(),
  /** Unix ms; the listing disappears after this unless refreshed. */
  expiresAt: z.number().int().nonnegative()
})

/** A seller's signed withdrawal of one of its listings. */
export const DelistingSchema = z.strictObject({
  v: z.literal(LISTING_SCHEMA_VERSION),
  kind: z.literal('delisting'),
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  seller: z.string().min(1).max(128),
  /**
   * Position of this version in its key's chain: the Yjs clock of the item that carries it (one Yjs client per key, see
   * `entryClientId`). Signed, so a replayed record cannot take another version's slot. Set by the writing document.
   */
  seq: z
    .number()
    .int()
    .nonnegative()
    .max(2 ** 32)
    .optional(),
  updatedAt: z.number().int().nonnegative()
})

export const ListingRecordSchema = z.discriminatedUnion('kind', [ListingSchema, DelistingSchema])

export type Listing = z.infer<typeof ListingSchema>
export type ListingPrice = z.infer<typeof ListingPriceSchema>
export type Delisting = z.infer<typeof DelistingSchema>
export type ListingRecord = z.infer<typeof ListingRecordSchema>

/** The CRDT key of a seller's listing. */
export function listingKey(seller: string, id: string): string {
  return `${seller}/${id}`
}
