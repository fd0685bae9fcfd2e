import { type FuzzTarget, typedBy } from '@betar/fuzz'
import {
  decodeAnnouncement,
  decodeInfoReply,
  encodeAnnouncement,
  encodeListing,
  type GoAgentListing,
  type GoAgentListingMessage
} from '../../src/legacy/index.ts'

const SELLER = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'
const MAX_ANNOUNCEMENT = 16 * 1024
const MAX_REPLY = 64 * 1024
const enc = (s: string) => new TextEncoder().encode(s)
// biome-ignore lint/suspicious/noControlCharactersInRegex: what a legacy listing's text must not hold
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

const announcements = [
  `{"type":"list","agentId":"did:key:z6Mkh","name":"math-agent","price":0.001,"metadata":"bafy","sellerId":"${SELLER}","addrs":["/ip4/127.0.0.1/tcp/4001"],"protocols":["/x402/libp2p/1.0.0"],"timestamp":1711900000,"tokenId":"42"}`,
  `{"type":"delist","agentId":"${SELLER}/did:key:z6Mkh","name":"","price":0,"metadata":"","sellerId":"${SELLER}","timestamp":0}`,
  `{"type":"update","agentId":"a","price":1e-7,"sellerId":"s","timestamp":1,"addrs":null,"agentApi":"http://x","extra":{"k":[1]}}`
]

/** An independent re-check of a Go listing the decoder accepted: Go's shape, within our bounds, re-encodable. */
function violation(l: GoAgentListing | GoAgentListingMessage): string | undefined {
  const texts = [l.name, l.metadata, l.sellerId, l.tokenId, l.agentApi, ...l.addrs, ...l.protocols]
  if (texts.some((t) => typeof t !== 'string' || CONTROL.test(t))) return 'text with a control character'
  if ([...l.name].length > 128 || l.addrs.length > 16 || l.protocols.length > 16) return 'field over its bound'
  if (!Number.isFinite(l.price) || l.price < 0 || l.price > 1e15) return 'price out of range'
  if (!Number.isSafeInteger(l.timestamp) || l.timestamp < 0) return 'timestamp not a safe non-negative integer'
  if (l.sellerId === '' || !/^(|0|[1-9][0-9]*)$/.test(l.tokenId)) return 'sellerId or tokenId'
  return undefined
}

/** `betar/marketplace/listings` announcements (`decodeAnnouncement`), as a Go peer publishes them. */
export const legacyAnnouncement: FuzzTarget = {
  name: 'marketplace-legacy-announcement',
  cost: 'cheap',
  formats: ['json'],
  maxLength: MAX_ANNOUNCEMENT + 64,
  seeds: () => announcements.map(enc),
  run: (input) => decodeAnnouncement(input, MAX_ANNOUNCEMENT),
  isTyped: typedBy('InvalidLegacyListingError'),
  check: (_, accepted) => {
    const m = accepted as GoAgentListingMessage
    if (!['list', 'update', 'delist'].includes(m.type) || m.agentId === '') return 'type or agentId'
    const bad = violation(m)
    if (bad != null) return bad
    // What we would write for it reads back as the same message.
    const again = decodeAnnouncement(encodeAnnouncement(m), 1 << 20)
    return JSON.stringify(again) === JSON.stringify(m) ? undefined : 're-encoded announcement reads differently'
  }
}

/** `info` replies on `/betar/marketplace/1.0.0` (`decodeInfoReply`): JSON arrays of Go listings, or Go's error text. */
export const legacyInfo: FuzzTarget = {
  name: 'marketplace-legacy-info',
  cost: 'cheap',
  formats: ['json'],
  maxLength: MAX_REPLY + 64,
  seeds: () => [
    enc(`[${announcements[0]!.replace('"type":"list","agentId"', '"id"')},{"id":1}]`),
    enc('null'),
    enc('unknown message type: info')
  ],
  run: (input) => decodeInfoReply(input, MAX_REPLY, 64),
  isTyped: typedBy('InvalidLegacyListingError', 'LegacyInfoError'),
  check: (_, accepted) => {
    const reply = accepted as ReturnType<typeof decodeInfoReply>
    if (reply.listings.length > 64) return 'more listings than maxListings'
    for (const l of reply.listings) {
      if (l.id === '') return 'empty id'
      const bad = violation(l)
      if (bad != null) return bad
      if (encodeListing(l).length === 0) return 'not re-encodable'
    }
    return undefined
  }
}
