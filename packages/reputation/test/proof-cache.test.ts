import type { DevnetAccount } from '@betar/devnet'
import { MemoryDatastore } from 'datastore-core'
import type { PublicClient } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHeliaNode, type HeliaNode } from '../../identity/test/fixtures/helia.ts'
import {
  createReputation,
  giveFeedback,
  ipfsFeedbackStorage,
  type LoadUri,
  ProofCache,
  type ProofOfPayment,
  type ReputationOptions,
  type ScoredFeedback,
  type StoreBytes,
  storeAsDataUri,
  summarize
} from '../src/index.ts'
import { type Env, setupEnv } from './helpers.ts'

const USDC = 1_000_000n
const NOW = Date.UTC(2030, 0, 1)

/** The real client, except that `getTransactionReceipt` always fails (an RPC that is down for receipts). */
function withoutReceipts(client: PublicClient): PublicClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'getTransactionReceipt') return () => Promise.reject(new Error('RPC down'))
      return Reflect.get(target, prop, receiver)
    }
  })
}

const verdicts = (list: ScoredFeedback[]) => list.map((f) => [f.clientAddress, f.status, f.reason, f.paid])

describe('verified proofs are cached; unloadable feedback is reported, not counted', () => {
  let env: Env
  let holder: HeliaNode
  let scorerNode: HeliaNode
  let agentId: bigint
  let owner: DevnetAccount
  let dataBuyer: DevnetAccount
  let ipfsBuyer: DevnetAccount
  let relayer: DevnetAccount
  let ipfsProof: ProofOfPayment

  const rate = async (buyer: DevnetAccount, value: number, store: StoreBytes) => {
    const proof = await env.pay(buyer, owner.address, 2n * USDC, relayer)
    await giveFeedback({
      walletClient: env.wallet(buyer),
      publicClient: env.publicClient,
      reputationRegistry: env.devnet.contracts.reputationRegistry,
      agentId,
      agentRegistry: env.agentRegistry,
      value,
      proof,
      store
    })
    return proof
  }

  const scorer = (init: Partial<ReputationOptions> & { datastore: ReputationOptions['datastore'] }) =>
    createReputation({
      publicClient: env.publicClient,
      identityRegistry: env.devnet.contracts.identityRegistry,
      reputationRegistry: env.devnet.contracts.reputationRegistry,
      asset: env.devnet.contracts.usdc,
      loadTimeoutMs: 1_000,
      ...init
    })

  beforeAll(async () => {
    env = await setupEnv(4)
    ;[owner, dataBuyer, ipfsBuyer, relayer] = env.devnet.accounts as [
      DevnetAccount,
      DevnetAccount,
      DevnetAccount,
      DevnetAccount
    ]
    ;[holder, scorerNode] = await Promise.all([createHeliaNode(), createHeliaNode()])
    await scorerNode.libp2p.dial(holder.libp2p.getMultiaddrs())
    agentId = await env.register(owner)
    await rate(dataBuyer, 90, storeAsDataUri)
    // Stored as a raw block on the buyer's own Helia node, served over bitswap only while it runs.
    ipfsProof = await rate(ipfsBuyer, 40, ipfsFeedbackStorage(holder.blockstore).store)
  }, 60_000)

  afterAll(async () => {
    await Promise.all([holder?.stop(), scorerNode?.stop()])
    await env?.devnet.stop()
  })

  it('scores a second time from the datastore alone: no file loader, no receipt RPC, same verdicts', async () => {
    const datastore = new MemoryDatastore()
    const online = await scorer({ datastore, load: ipfsFeedbackStorage(scorerNode.blockstore).load }).report(agentId, {
      now: NOW
    })
    expect(verdicts(online.feedback)).toEqual([
      [dataBuyer.address, 'counted', undefined, 2n * USDC],
      [ipfsBuyer.address, 'counted', undefined, 2n * USDC]
    ])
    expect(online.summary.starred).toMatchObject({ count: 2, entries: 2, unverified: 0 })

    const cache = new ProofCache(datastore, {
      chainId: env.devnet.chainId,
      reputationRegistry: env.devnet.contracts.reputationRegistry,
      identityRegistry: env.devnet.contracts.identityRegistry
    })
    const ipfsEntry = online.feedback[1]
    expect(await cache.file(ipfsEntry?.feedbackHash ?? '0x')).toBeInstanceOf(Uint8Array)
    expect(await cache.receipt(ipfsProof.txHash as `0x${string}`)).toMatchObject({ status: 'success' })

    const throwing: LoadUri = async () => {
      throw new Error('no network')
    }
    const offline = await scorer({
      datastore,
      load: throwing,
      publicClient: withoutReceipts(env.publicClient)
    }).report(agentId, { now: NOW })
    expect(verdicts(offline.feedback)).toEqual(verdicts(online.feedback))
    expect(offline.summary).toEqual(online.summary)
  })

  it('a receipt RPC failure fails the call instead of dropping the feedback', async () => {
    const call = scorer({
      datastore: new MemoryDatastore(),
      load: ipfsFeedbackStorage(scorerNode.blockstore).load,
      publicClient: withoutReceipts(env.publicClient)
    }).summary(agentId, { now: NOW })
    await expect(call).rejects.toMatchObject({ name: 'ReputationError', shortMessage: /Could not read the receipt/ })
  })

  it('reports ipfs feedback whose holder is offline as unverified and leaves it out of the score', async () => {
    // A scorer that never fetched the file, connected to the holder until the holder stops.
    const cold = await createHeliaNode()
    await cold.libp2p.dial(holder.libp2p.getMultiaddrs())
    await holder.stop()
    const fresh = await scorer({
      datastore: new MemoryDatastore(),
      load: ipfsFeedbackStorage(cold.blockstore).load,
      loadTimeoutMs: 300
    })
      .report(agentId, { now: NOW })
      .finally(() => cold.stop())
    expect(verdicts(fresh.feedback)).toEqual([
      [dataBuyer.address, 'counted', undefined, 2n * USDC],
      [ipfsBuyer.address, 'unverified', 'unloadable', 0n]
    ])
    expect(fresh.summary.starred).toMatchObject({ count: 1, entries: 1, unverified: 1 })
    // Exactly the score of the verified feedback alone: the unverified entry weighs nothing.
    const onlyVerified = summarize(
      fresh.feedback.filter((f) => f.status === 'counted'),
      {
        now: NOW / 1000,
        halfLifeSeconds: 30 * 24 * 3600,
        assetDecimals: 6,
        priors: { starred: { mean: 50, weight: 1 } }
      }
    )
    expect(fresh.summary.starred?.score).toBe(onlyVerified.starred?.score)
  })
})
