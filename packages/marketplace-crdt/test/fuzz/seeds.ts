import { createPrivateKey, type KeyObject, sign } from 'node:crypto'
import { generateKeyPairFromSeed, privateKeyFromRaw } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { entryClientId, type ListingInput, listingKey, MarketplaceDoc } from '../../src/index.ts'
import { listingInput } from '../fixtures/listing.ts'
import { rootTypeSpam } from '../helpers/bombs.ts'

/** Signed listings and Yjs updates of a small market, all reproducible (fixed keys, fixed clock). */

export const T0 = 1_700_000_000_000
/** The replica's clock: a little after everything was published. */
export const NOW = T0 + 5_000
const DOMAIN = new TextEncoder().encode('betar/marketplace/listing/v1\n')

export interface Seller {
  id: string
  key: PrivateKey
  /** A Node key for signing synchronously inside a mutator (Ed25519 only). */
  signer?: KeyObject
}

/** PKCS#8 DER of an Ed25519 private key from its 32-byte seed (RFC 8410). */
function ed25519Pkcs8(seed: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed])
}

async function ed25519Seller(fill: number): Promise<Seller> {
  const seed = new Uint8Array(32).fill(fill)
  const key = await generateKeyPairFromSeed('Ed25519', seed)
  const signer = createPrivateKey({ key: ed25519Pkcs8(seed), format: 'der', type: 'pkcs8' })
  return { id: peerIdFromPrivateKey(key).toString(), key, signer }
}

function secp256k1Seller(): Seller {
  const key = privateKeyFromRaw(new Uint8Array(32).fill(0x42))
  return { id: peerIdFromPrivateKey(key).toString(), key }
}

/** An envelope for `payload` signed by `seller` (as `signRecord` writes it, but for any payload text). */
export function envelope(seller: Seller, payload: string): Uint8Array {
  if (seller.signer == null) throw new Error('synchronous signing needs an Ed25519 seller')
  const body = new TextEncoder().encode(payload)
  const data = Buffer.concat([DOMAIN, body])
  const s = sign(null, data, seller.signer).toString('base64url')
  return new TextEncoder().encode(JSON.stringify({ p: payload, s }))
}

const schema = {
  type: 'object',
  properties: { text: { type: 'string', maxLength: 10_000 }, lang: { enum: ['en', 'fr'] } },
  required: ['text']
}

export interface Market {
  sellers: Seller[]
  /** Signed records (listings and a delisting) as they travel. */
  records: Uint8Array[]
  /** Valid Yjs updates: publications, a new version, a withdrawal, another seller's publication. */
  updates: Uint8Array[]
  /** The state a replica holds before fuzzing (the first publication). */
  initial: Uint8Array
  /** Known-bad updates (issue 13 faults 1 and 4) worth mutating. */
  hostile: Uint8Array[]
}

let market: Promise<Market> | undefined

/** Builds the market once per process. */
export function buildMarket(): Promise<Market> {
  market ??= build()
  return market
}

async function build(): Promise<Market> {
  let t = T0
  const now = () => t
  const sellers = [await ed25519Seller(1), await ed25519Seller(2), secp256k1Seller()]
  const docs = sellers.map((s) => new MarketplaceDoc({ peerId: s.id, privateKey: s.key, now }))
  const updates: Uint8Array[] = []
  for (const doc of docs) {
    doc.addEventListener('update', (e) => {
      if (e.detail.local) updates.push(e.detail.update)
    })
  }
  const [a, b, c] = docs as [MarketplaceDoc, MarketplaceDoc, MarketplaceDoc]
  const rich: Partial<ListingInput> = {
    inputSchema: schema,
    outputSchema: { type: 'object' },
    erc8004: { agentId: '7', agentRegistry: 'eip155:31337:0x8004A818BFB912233c491871b3d84c89A494BD9e' },
    ttlMs: 3_600_000
  }
  await a.publishMany([listingInput('summarize', rich), listingInput('translate', { ttlMs: 3_600_000 })])
  t += 1_000
  await a.publish(listingInput('summarize', { ...rich, description: 'now faster' }))
  t += 1_000
  await a.delist('translate')
  await b.publish(listingInput('ocr', { capabilities: ['ocr', 'vision'], ttlMs: 3_600_000 }))
  await c.publish(listingInput('k1', { ttlMs: 3_600_000 }))
  const sa = sellers[0] as Seller
  const records = [
    ...[a, b, c].flatMap((d) => [...d.entries()].map(([, bytes]) => bytes)),
    envelope(sa, JSON.parse(new TextDecoder().decode(a.entry(listingKey(sa.id, 'summarize')))).p)
  ]
  const held = entryClientId(listingKey(sa.id, 'summarize'))
  return {
    sellers,
    records,
    updates,
    initial: updates[0] as Uint8Array,
    hostile: [
      Uint8Array.from([0x00, 0x01, 0x05, 0x01, 0x00, 0x00]), // issue 13, fault 4: an empty delete range
      rootTypeSpam(held, ['listi_gs', 'l[stings']), // issue 13, fault 1: a held item claiming another parent
      rootTypeSpam(1_000, ['listings', 'other'])
    ]
  }
}
