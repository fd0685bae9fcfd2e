import { describe, expect, it } from 'vitest'
import {
  caip10Account,
  DEFAULT_HALF_LIFE_SECONDS,
  decodeFeedbackFile,
  encodeFeedbackFile,
  type FeedbackFile,
  FeedbackFileError,
  FeedbackLoadError,
  feedbackHash,
  fromDataUri,
  ipfsFeedbackStorage,
  parseCaip10,
  scoreTag,
  toDataUri,
  withDataUriSupport
} from '../src/index.ts'

const A = '0x00000000000000000000000000000000000000a1'
const B = '0x00000000000000000000000000000000000000b2'

const file: FeedbackFile = {
  agentRegistry: caip10Account(31337, '0x8004a169fb4a3325136eb29fa0ceb6d2e539a432'),
  agentId: 3,
  clientAddress: caip10Account(31337, A),
  createdAt: '2026-11-23T10:00:00.000Z',
  value: 87,
  valueDecimals: 0,
  tag1: 'starred',
  proofOfPayment: {
    fromAddress: A,
    toAddress: B,
    chainId: 31337,
    txHash: `0x${'ab'.repeat(32)}`,
    amount: '1000000',
    asset: '0x00000000000000000000000000000000000000c3',
    correlationId: 'job-1'
  }
}

describe('feedback file', () => {
  it('round-trips and hashes the exact bytes', () => {
    const bytes = encodeFeedbackFile(file)
    expect(decodeFeedbackFile(bytes)).toEqual(file)
    expect(feedbackHash(bytes)).toMatch(/^0x[0-9a-f]{64}$/)
    const reordered = new TextEncoder().encode(JSON.stringify(Object.fromEntries(Object.entries(file).reverse())))
    expect(feedbackHash(reordered)).not.toBe(feedbackHash(bytes))
  })

  it('rejects files missing MUST fields or with a bad CAIP-10 client', () => {
    const { createdAt: _, ...missing } = file
    expect(() => decodeFeedbackFile(new TextEncoder().encode(JSON.stringify(missing)))).toThrow(FeedbackFileError)
    const bad = { ...file, clientAddress: A }
    expect(() => decodeFeedbackFile(new TextEncoder().encode(JSON.stringify(bad)))).toThrow(FeedbackFileError)
    expect(() => decodeFeedbackFile(new TextEncoder().encode('{'))).toThrow(FeedbackFileError)
  })

  it('keeps unknown fields and parses CAIP-10', () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ ...file, a2a: { taskId: 't' } }))
    expect(decodeFeedbackFile(bytes)).toHaveProperty('a2a', { taskId: 't' })
    expect(parseCaip10(file.clientAddress)).toEqual({
      chainId: 31337,
      address: '0x00000000000000000000000000000000000000A1'
    })
  })
})

describe('data: URIs', () => {
  it('encodes and decodes base64 and percent-encoded payloads', async () => {
    const bytes = new TextEncoder().encode('{"a":"é"}')
    expect(fromDataUri(toDataUri(bytes))).toEqual(bytes)
    expect(new TextDecoder().decode(fromDataUri('data:,hello%20world'))).toBe('hello world')
    const load = withDataUriSupport()
    expect(await load(toDataUri(bytes))).toEqual(bytes)
    await expect(load('ipfs://bafy')).rejects.toThrow(FeedbackLoadError)
  })
})

describe('scoreTag', () => {
  const params = {
    now: 1_000_000,
    halfLifeSeconds: DEFAULT_HALF_LIFE_SECONDS,
    assetDecimals: 6,
    prior: { mean: 50, weight: 1 }
  }

  it('shrinks toward the prior and weights by log1p(paid)', () => {
    const one = scoreTag([{ clientAddress: A, value: 100, paid: 1_000_000n, timestamp: params.now }], params)
    const w = Math.log1p(1)
    expect(one.score).toBeCloseTo((50 + w * 100) / (1 + w), 10)
    expect(one.confidence).toBeCloseTo(w / (1 + w), 10)
    expect(one).toMatchObject({ count: 1, entries: 1, paidVolume: 1_000_000n })
    const rich = scoreTag([{ clientAddress: A, value: 100, paid: 1_000_000_000n, timestamp: params.now }], params)
    expect(rich.score ?? 0).toBeGreaterThan(one.score ?? 0)
  })

  it('gives one vote per client (mean of its entries) and decays with age', () => {
    const s = scoreTag(
      [
        { clientAddress: A, value: 100, paid: 1_000_000n, timestamp: params.now },
        { clientAddress: A, value: 0, paid: 1_000_000n, timestamp: params.now }
      ],
      params
    )
    const w = Math.log1p(2)
    expect(s.count).toBe(1)
    expect(s.entries).toBe(2)
    expect(s.score).toBeCloseTo((50 + w * 50) / (1 + w), 10)
    const old = scoreTag(
      [{ clientAddress: A, value: 100, paid: 1_000_000n, timestamp: params.now - DEFAULT_HALF_LIFE_SECONDS }],
      params
    )
    expect(old.weight).toBeCloseTo(Math.log1p(1) / 2, 10)
  })

  it('is order-independent and null without votes or prior', () => {
    const e1 = { clientAddress: A, value: 80, paid: 3_000_000n, timestamp: params.now - 100 } as const
    const e2 = { clientAddress: B, value: 20, paid: 5_000_000n, timestamp: params.now - 5000 } as const
    expect(scoreTag([e1, e2], params)).toEqual(scoreTag([e2, e1], params))
    expect(scoreTag([], { ...params, prior: { mean: 0, weight: 0 } }).score).toBeNull()
    expect(scoreTag([], params)).toMatchObject({ score: 50, count: 0, confidence: 0 })
  })
})

describe('ipfsFeedbackStorage', () => {
  it('stores raw blocks under ipfs:// URIs and loads them back with CID verification', async () => {
    const { MemoryBlockstore } = await import('blockstore-core')
    const storage = ipfsFeedbackStorage(new MemoryBlockstore())
    const bytes = encodeFeedbackFile(file)
    const uri = await storage.store(bytes)
    expect(uri).toMatch(/^ipfs:\/\/bafk/)
    expect(await storage.load(uri)).toEqual(bytes)
    await expect(storage.load('ipfs://nope')).rejects.toThrow(FeedbackLoadError)
  })
})
