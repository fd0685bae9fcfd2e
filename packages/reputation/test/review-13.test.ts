import { MemoryDatastore } from 'datastore-core'
import type { PublicClient } from 'viem'
import { describe, expect, it } from 'vitest'
import { MAX_FEEDBACK_FILE_BYTES } from '../src/feedback-file.ts'
import { ProofCache } from '../src/proof-cache.ts'
import { DEFAULT_PRIORS } from '../src/score.ts'
import { type ScoredFeedback, summarize } from '../src/summarize.ts'
import { verifyPayment } from '../src/verify.ts'
import { asset, CHAIN_ID, fileSeed, identityRegistry, payee, recordFor } from './fuzz/seeds.ts'

/*
 * Review of issue 13 (hostile peers, same kinds of fault as the issue's): defects found from outside, fixed since.
 */

/** A chain that knows no transaction (never reached here: the file is refused first). */
const publicClient = {
  getTransactionReceipt: async () => {
    throw new Error('not reached')
  }
} as unknown as PublicClient

function context(load: (uri: string) => Promise<Uint8Array>, cache: ProofCache) {
  return {
    publicClient,
    load,
    chainId: CHAIN_ID,
    identityRegistry,
    asset,
    payees: [payee],
    minPayment: 1_000n,
    receipts: new Map(),
    cache
  }
}

describe('review 13: the size bound of feedback files and the proof cache', () => {
  /*
   * Defect (the "size limit before anything reads it", on the path around the decoder): `loadVerifiedFile`
   * (src/verify.ts) stores whatever `ctx.load` returned in the persistent `ProofCache` as soon as it hashes to the
   * event's `feedbackHash` — before `decodeFeedbackFile` applies the 64 KiB bound (or any check). Anyone can call
   * `giveFeedback` for any agent with `feedbackURI` = an `ipfs://` raw block of megabytes (or any non-feedback bytes)
   * and `feedbackHash` = its keccak256: every node that scores that agent keeps those bytes on disk for good under
   * `/file/<hash>` (the cache has no eviction), although the feedback is refused as `invalid-file`, and the cache's
   * contract is "verified payment evidence". One feedback event per file; a node scoring many agents accumulates them.
   * Expected: the size bound (and the decode) applied before the bytes are cached; refused files never cached.
   */
  it('a 1 MiB file refused as invalid-file is not kept in the proof cache', async () => {
    const big = new Uint8Array(1024 * 1024).fill(0x20) // 1 MiB of JSON whitespace
    expect(big.byteLength).toBeGreaterThan(MAX_FEEDBACK_FILE_BYTES)
    const record = recordFor(big, 'ipfs://bafkhostile')
    const cache = new ProofCache(new MemoryDatastore(), {
      chainId: CHAIN_ID,
      reputationRegistry: '0x8004B663056A597Dffe9eCcC1965A193B7388713',
      identityRegistry
    })
    const verdict = await verifyPayment(
      record,
      context(async () => big, cache)
    )
    expect(verdict).toMatchObject({ ok: false, reason: 'invalid-file' })
    expect((await cache.file(record.feedbackHash))?.byteLength ?? 0).toBe(0)
  })

  it('control: a valid feedback file is cached after it hashed to its event (what the cache is for)', async () => {
    const record = recordFor(fileSeed, 'ipfs://bafkfile')
    const cache = new ProofCache(new MemoryDatastore(), {
      chainId: CHAIN_ID,
      reputationRegistry: '0x8004B663056A597Dffe9eCcC1965A193B7388713',
      identityRegistry
    })
    await verifyPayment(
      record,
      context(async () => fileSeed, cache)
    ).catch(() => undefined)
    expect(await cache.file(record.feedbackHash)).toEqual(fileSeed)
  })
})

/** A counted `starred` feedback of `client` with `value` (0 decimals), backed by a verified payment of `paid`. */
function counted(client: string, value: bigint, paid: bigint, index: number): ScoredFeedback {
  return {
    ...recordFor(fileSeed, 'ipfs://bafk'),
    clientAddress: client as `0x${string}`,
    feedbackIndex: BigInt(index),
    value,
    valueDecimals: 0,
    tag1: 'starred',
    timestamp: 1_800_000_000,
    counted: true,
    status: 'counted',
    paid
  }
}

describe('review 13: bounds of counted feedback values', () => {
  const params = { now: 1_800_000_000, halfLifeSeconds: 30 * 24 * 3600, assetDecimals: 6, priors: DEFAULT_PRIORS }

  it('control: 20 paying clients rating 100 score near 100', () => {
    const honest = Array.from({ length: 20 }, (_, i) =>
      counted(`0x${(i + 1).toString(16).padStart(40, '0')}`, 100n, 1_000_000n, i + 1)
    )
    const score = summarize(honest, params).starred?.score ?? Number.NaN
    expect(score).toBeGreaterThan(90)
    expect(score).toBeLessThanOrEqual(100)
  })

  /*
   * Defect (the "nothing invalid accepted: re-check amounts and bounds", on the feedback path): `starred` is a
   * 0–100 rating (give-feedback.ts refuses anything else for Betar's own clients), but the registry accepts any
   * |value| ≤ 1e38 and neither verifyPayment nor summarize/scoreTag bound it. One hostile client that pays an agent the
   * minimum once (here 0.01 USDC) and calls `giveFeedback(agentId, -1e38, 0, "starred", …)` directly — its file and
   * payment verify — sinks that agent's `starred` score to about -6.7e34 against 20 paying clients rating 100; a buyer's
   * `minScore` then refuses the agent (and +1e38 lifts a sybil's own agent over every `minScore`). Expected: values
   * outside the tag's range refused or clamped, so the score stays within 0–100.
   */
  it('one paid feedback of -1e38 does not push a starred score out of 0–100', () => {
    const honest = Array.from({ length: 20 }, (_, i) =>
      counted(`0x${(i + 1).toString(16).padStart(40, '0')}`, 100n, 1_000_000n, i + 1)
    )
    const hostile = counted(`0x${'e'.repeat(40)}`, -(10n ** 38n), 10_000n, 99)
    const score = summarize([...honest, hostile], params).starred?.score ?? Number.NaN
    expect(score).toBeGreaterThanOrEqual(0)
    expect(score).toBeLessThanOrEqual(100)
  })
})
