/**
 * Byte vectors for the Go prototype's listing JSON and `/betar/marketplace/1.0.0` frames, pinned from the format in
 * asabya/betar `pkg/types/types.go` (struct order, `omitempty`, Go's `json.Marshal` escaping and float formatting) and
 * `internal/p2p/stream.go` (framing), as written down in the Go inventory (§2.5, §2.6). Each expected string is what
 * Go's encoder writes for the struct value described next to it.
 */
import { describe, expect, it } from 'vitest'
import type { Listing } from '../../src/index.ts'
import {
  decodeAnnouncement,
  decodeInfoReply,
  encodeAnnouncement,
  encodeInfoReply,
  encodeListing,
  encodeRequest,
  encodeResponse,
  InvalidLegacyListingError,
  LegacyInfoError,
  toGoAnnouncement,
  toGoListing
} from '../../src/legacy/index.ts'

const SELLER = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'
const DID = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK'
const CID = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'
const text = (b: Uint8Array) => new TextDecoder().decode(b)
const bytes = (s: string) => new TextEncoder().encode(s)
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

/** What a Go CLI node publishes for its flag agent: every field set. */
const CLI_ANNOUNCEMENT =
  `{"type":"list","agentId":"${DID}","name":"math-agent","price":0.001,"metadata":"${CID}","sellerId":"${SELLER}",` +
  `"addrs":["/ip4/127.0.0.1/tcp/4001","/ip4/127.0.0.1/udp/4001/quic-v1"],"protocols":["/x402/libp2p/1.0.0"],` +
  `"timestamp":1711900000,"tokenId":"42"}`

/** What Go's SDK publishes first: `<peer>/<did>` id, no protocols, no addrs, timestamp 0 (omitempty members gone). */
const SDK_ANNOUNCEMENT = `{"type":"list","agentId":"${SELLER}/${DID}","name":"sdk-agent","price":0.25,"metadata":"","sellerId":"${SELLER}","timestamp":0}`

describe('Go announcement JSON (AgentListingMessage)', () => {
  it('encodes a CLI announcement byte for byte', () => {
    const out = encodeAnnouncement({
      type: 'list',
      agentId: DID,
      name: 'math-agent',
      price: 0.001,
      metadata: CID,
      sellerId: SELLER,
      addrs: ['/ip4/127.0.0.1/tcp/4001', '/ip4/127.0.0.1/udp/4001/quic-v1'],
      protocols: ['/x402/libp2p/1.0.0'],
      timestamp: 1711900000,
      tokenId: '42'
    })
    expect(text(out)).toBe(CLI_ANNOUNCEMENT)
  })

  it('leaves out the omitempty members when empty, keeps the others', () => {
    const out = encodeAnnouncement({
      type: 'list',
      agentId: `${SELLER}/${DID}`,
      name: 'sdk-agent',
      price: 0.25,
      metadata: '',
      sellerId: SELLER,
      addrs: [],
      protocols: [],
      timestamp: 0,
      tokenId: '',
      agentApi: ''
    })
    expect(text(out)).toBe(SDK_ANNOUNCEMENT)
  })

  it('writes a delist with zero values as Go does', () => {
    const out = encodeAnnouncement({ type: 'delist', agentId: DID, price: 0, sellerId: SELLER, timestamp: 5 })
    expect(text(out)).toBe(
      `{"type":"delist","agentId":"${DID}","name":"","price":0,"metadata":"","sellerId":"${SELLER}","timestamp":5}`
    )
  })

  it("escapes strings as Go's json.Marshal (HTML-safe, short escapes, U+2028/9)", () => {
    const out = encodeAnnouncement({
      type: 'list',
      agentId: 'a',
      name: 'x<y>&"q"\\\n\t\b\f\u0001\u007f\u2028\u2029é😀',
      price: 1,
      sellerId: SELLER,
      timestamp: 1
    })
    expect(text(out)).toBe(
      `{"type":"list","agentId":"a","name":"x\\u003cy\\u003e\\u0026\\"q\\"\\\\\\n\\t\\b\\f\\u0001\u007f\\u2028\\u2029é😀","price":1,"metadata":"","sellerId":"${SELLER}","timestamp":1}`
    )
  })

  it("formats float64 prices as Go's encoder", () => {
    const price = (p: number) =>
      text(encodeAnnouncement({ type: 'list', agentId: 'a', price: p, sellerId: 's', timestamp: 0 })).match(
        /"price":([^,]+),/
      )?.[1]
    expect(price(0)).toBe('0')
    expect(price(100)).toBe('100')
    expect(price(0.29)).toBe('0.29')
    expect(price(0.0000015)).toBe('0.0000015') // ≥ 1e-6: plain digits
    expect(price(1e-7)).toBe('1e-7') // Go writes 1e-07, then trims it to 1e-7
    expect(price(1e21)).toBe('1e+21')
    expect(price(123456789.125)).toBe('123456789.125')
  })

  it('decodes the vectors back', () => {
    const cli = decodeAnnouncement(bytes(CLI_ANNOUNCEMENT), 16_384)
    expect(cli).toEqual({
      type: 'list',
      agentId: DID,
      name: 'math-agent',
      price: 0.001,
      metadata: CID,
      sellerId: SELLER,
      addrs: ['/ip4/127.0.0.1/tcp/4001', '/ip4/127.0.0.1/udp/4001/quic-v1'],
      protocols: ['/x402/libp2p/1.0.0'],
      timestamp: 1711900000,
      tokenId: '42',
      agentApi: ''
    })
    expect(text(encodeAnnouncement(cli))).toBe(CLI_ANNOUNCEMENT)
    const sdk = decodeAnnouncement(bytes(SDK_ANNOUNCEMENT), 16_384)
    expect(sdk.addrs).toEqual([])
    expect(text(encodeAnnouncement(sdk))).toBe(SDK_ANNOUNCEMENT)
  })

  it('reads like json.Unmarshal: unknown members ignored, null and missing members are zero values', () => {
    const msg = decodeAnnouncement(
      bytes(
        `{"type":"update","agentId":"a","price":1,"sellerId":"s","timestamp":3,"addrs":null,"name":null,"agentApi":"http://x","extra":{"k":[1]}}`
      ),
      16_384
    )
    expect(msg).toMatchObject({
      type: 'update',
      name: '',
      metadata: '',
      addrs: [],
      protocols: [],
      agentApi: 'http://x'
    })
    // Invalid UTF-8 becomes U+FFFD, as in Go.
    const raw = bytes(`{"type":"list","agentId":"a","name":"AB","price":1,"sellerId":"s","timestamp":3}`)
    raw[raw.indexOf(0x41)] = 0xff
    expect(decodeAnnouncement(raw, 16_384).name).toBe('\ufffdB')
    // So does a lone surrogate escape (found by fuzzing: it re-encoded differently).
    const lone = bytes('{"type":"list","agentId":"a\\ud800","name":"\\udc00B","price":1,"sellerId":"s","timestamp":3}')
    expect(decodeAnnouncement(lone, 16_384)).toMatchObject({ agentId: 'a\ufffd', name: '\ufffdB' })
  })

  it('refuses with typed reasons: size before parsing, then JSON, then schema', () => {
    const reason = (data: Uint8Array, max = 16_384) => {
      try {
        decodeAnnouncement(data, max)
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidLegacyListingError)
        return (err as InvalidLegacyListingError).reason
      }
      return 'accepted'
    }
    expect(reason(new Uint8Array(16_385).fill(0x7b))).toBe('size') // not even JSON: never parsed
    expect(reason(bytes(CLI_ANNOUNCEMENT), CLI_ANNOUNCEMENT.length - 1)).toBe('size')
    expect(reason(bytes(CLI_ANNOUNCEMENT), CLI_ANNOUNCEMENT.length)).toBe('accepted')
    expect(reason(bytes('not json'))).toBe('json')
    expect(reason(bytes(`${'['.repeat(10)}${']'.repeat(10)}`))).toBe('json')
    expect(reason(bytes('{"__proto__":{},"type":"list"}'))).toBe('json')
    expect(reason(bytes('{"type":"list","agentId":"a","price":"1","sellerId":"s","timestamp":1}'))).toBe('schema')
    expect(reason(bytes('{"type":"list","agentId":"a","price":-1,"sellerId":"s","timestamp":1}'))).toBe('schema')
    expect(reason(bytes('{"type":"list","agentId":"a","price":1,"sellerId":"s","timestamp":1.5}'))).toBe('schema')
    expect(reason(bytes('{"type":"steal","agentId":"a","price":1,"sellerId":"s","timestamp":1}'))).toBe('schema')
    expect(reason(bytes('{"type":"list","agentId":"","price":1,"sellerId":"s","timestamp":1}'))).toBe('schema')
    expect(reason(bytes('{"type":"list","agentId":"a","price":1,"timestamp":1}'))).toBe('schema')
    expect(
      reason(bytes(`{"type":"list","agentId":"a","price":1,"sellerId":"s","timestamp":1,"name":"${'n'.repeat(129)}"}`))
    ).toBe('schema')
    expect(
      reason(
        bytes(
          `{"type":"list","agentId":"a","price":1,"sellerId":"s","timestamp":1,"addrs":${JSON.stringify(Array(17).fill('/ip4/1.2.3.4'))}}`
        )
      )
    ).toBe('schema')
    expect(
      reason(bytes('{"type":"list","agentId":"a","price":1,"sellerId":"s","timestamp":1,"name":"\\u001b[2J"}'))
    ).toBe('schema')
    expect(reason(bytes('{"type":"list","agentId":"a","price":1,"sellerId":"s","timestamp":1,"tokenId":"0x2a"}'))).toBe(
      'schema'
    )
  })
})

describe('Go info reply JSON ([]AgentListing)', () => {
  const LISTING = `{"id":"${DID}","name":"math-agent","price":0.5,"metadata":"${CID}","sellerId":"${SELLER}","addrs":["/ip4/10.0.0.2/tcp/4001"],"protocols":["/x402/libp2p/1.0.0"],"timestamp":1711900000}`

  it('encodes an array of listings byte for byte', () => {
    const listing = {
      id: DID,
      name: 'math-agent',
      price: 0.5,
      metadata: CID,
      sellerId: SELLER,
      addrs: ['/ip4/10.0.0.2/tcp/4001'],
      protocols: ['/x402/libp2p/1.0.0'],
      timestamp: 1711900000
    }
    expect(encodeListing(listing)).toBe(LISTING)
    expect(text(encodeInfoReply([listing, { ...listing, tokenId: '7' }]))).toBe(
      `[${LISTING},${LISTING.slice(0, -1)},"tokenId":"7"}]`
    )
    expect(text(encodeInfoReply([]))).toBe('[]')
  })

  it('decodes a reply; onChainReputation ignored; bad elements counted, not fatal; null is empty', () => {
    const withRep = `${LISTING.slice(0, -1)},"tokenId":"3","onChainReputation":{"count":3,"score":100,"decimals":0}}`
    const reply = decodeInfoReply(bytes(`[${LISTING},{"id":1},${withRep}]`), 1 << 20, 1024)
    expect(reply.listings).toHaveLength(2)
    expect(reply.invalid).toBe(1)
    expect(reply.listings[1]?.tokenId).toBe('3')
    expect(decodeInfoReply(bytes('null'), 1 << 20, 1024).listings).toEqual([])
  })

  it('looks at the first maxListings elements only', () => {
    const reply = decodeInfoReply(bytes(`[${Array(5).fill(LISTING).join(',')}]`), 1 << 20, 2)
    expect(reply.listings).toHaveLength(2)
    expect(reply.truncated).toBe(3)
  })

  it("reads Go's plain-text error answer as LegacyInfoError, an oversized one as size", () => {
    expect(() => decodeInfoReply(bytes('unknown message type: info'), 1 << 20, 10)).toThrow(LegacyInfoError)
    expect(() => decodeInfoReply(bytes('{"id":"x"}'), 1 << 20, 10)).toThrow(LegacyInfoError)
    try {
      decodeInfoReply(bytes(`[${LISTING}]`), 10, 10)
      expect.unreachable()
    } catch (err) {
      expect((err as InvalidLegacyListingError).reason).toBe('size')
    }
  })
})

describe('/betar/marketplace/1.0.0 frames', () => {
  it('encodes the info request as Go reads it', () => {
    // [u16 BE 4]["info"][u32 BE 0]
    expect(hex(encodeRequest('info'))).toBe('0004696e666f00000000')
    expect(hex(encodeRequest('order.create', bytes('{}')))).toBe('000c6f726465722e637265617465000000027b7d')
  })

  it('encodes a response as [u32 BE length][data]', () => {
    expect(hex(encodeResponse(bytes('[]')))).toBe('000000025b5d')
    expect(hex(encodeResponse(new Uint8Array(0)))).toBe('00000000')
  })

  it("refuses types Go's reader refuses", () => {
    expect(() => encodeRequest('')).toThrow(/type length 0/)
    expect(() => encodeRequest('x'.repeat(129))).toThrow(/type length 129/)
  })
})

describe('our listings in Go format', () => {
  const listing: Listing = {
    v: 1,
    kind: 'listing',
    id: 'summarizer',
    seller: SELLER,
    multiaddrs: [`/ip4/127.0.0.1/tcp/4001/p2p/${SELLER}`, '/ip4/127.0.0.1/udp/4001/quic-v1'],
    protocols: ['/x402/libp2p/2.0.0', '/x402/libp2p/1.0.0'],
    resource: 'summarize',
    name: 'Summarizer',
    description: 'ignored by Go',
    capabilities: ['summarize'],
    price: {
      scheme: 'exact',
      network: 'eip155:84532',
      amount: '10000',
      asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
      payTo: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      maxTimeoutSeconds: 60,
      extra: { name: 'USDC', version: '2' }
    },
    erc8004: { agentId: '12', agentRegistry: 'eip155:84532:0x8004A818BFB912233c491871b3d84c89A494BD9e' },
    createdAt: 1_711_900_000_000,
    updatedAt: 1_711_900_123_456,
    expiresAt: 1_711_900_723_456
  }

  it('announces `<seller>/<resource>` so a Go buyer calls our resource, price in USDC, addrs without /p2p', () => {
    expect(text(encodeAnnouncement(toGoAnnouncement(listing)))).toBe(
      `{"type":"list","agentId":"${SELLER}/summarize","name":"Summarizer","price":0.01,"metadata":"","sellerId":"${SELLER}",` +
        `"addrs":["/ip4/127.0.0.1/tcp/4001","/ip4/127.0.0.1/udp/4001/quic-v1"],"protocols":["/x402/libp2p/1.0.0"],` +
        `"timestamp":1711900123,"tokenId":"12"}`
    )
    expect(encodeListing(toGoListing(listing))).toBe(
      `{"id":"${SELLER}/summarize","name":"Summarizer","price":0.01,"metadata":"","sellerId":"${SELLER}",` +
        `"addrs":["/ip4/127.0.0.1/tcp/4001","/ip4/127.0.0.1/udp/4001/quic-v1"],"protocols":["/x402/libp2p/1.0.0"],` +
        `"timestamp":1711900123,"tokenId":"12"}`
    )
  })
})
