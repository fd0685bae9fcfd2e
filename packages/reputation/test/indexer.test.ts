import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { DevnetAccount } from '@betar/devnet'
import { LevelDatastore } from 'datastore-level'
import type { PublicClient } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createReputation, giveFeedback, RegistryCallError, storeAsDataUri } from '../src/index.ts'
import { type Env, setupEnv } from './helpers.ts'

/** A public client that records the block ranges of every `getContractEvents` call. */
function spy(client: PublicClient): { client: PublicClient; ranges: Array<[bigint, bigint]> } {
  const ranges: Array<[bigint, bigint]> = []
  const wrapped = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'getContractEvents') {
        return (args: { fromBlock: bigint; toBlock: bigint }) => {
          ranges.push([args.fromBlock, args.toBlock])
          return target.getContractEvents(args as Parameters<PublicClient['getContractEvents']>[0])
        }
      }
      return Reflect.get(target, prop, receiver)
    }
  })
  return { client: wrapped, ranges }
}

describe('incremental event index', () => {
  let env: Env
  let dir: string
  let agentId: bigint
  let owner: DevnetAccount
  let buyer: DevnetAccount
  let relayer: DevnetAccount

  const rate = async (value: number) => {
    const proof = await env.pay(buyer, owner.address, 1_000_000n, relayer)
    await giveFeedback({
      walletClient: env.wallet(buyer),
      publicClient: env.publicClient,
      reputationRegistry: env.devnet.contracts.reputationRegistry,
      agentId,
      agentRegistry: env.agentRegistry,
      value,
      proof,
      store: storeAsDataUri
    })
  }

  beforeAll(async () => {
    env = await setupEnv(3)
    ;[owner, buyer, relayer] = env.devnet.accounts as [DevnetAccount, DevnetAccount, DevnetAccount]
    agentId = await env.register(owner)
    dir = await mkdtemp(join(tmpdir(), 'betar-reputation-'))
  }, 60_000)

  afterAll(async () => {
    await env?.devnet.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('resumes from the persisted cursor, in bounded ranges, across a LevelDB restart', async () => {
    await rate(80)
    const options = {
      identityRegistry: env.devnet.contracts.identityRegistry,
      reputationRegistry: env.devnet.contracts.reputationRegistry,
      asset: env.devnet.contracts.usdc,
      maxBlockRange: 4n
    }

    const first = spy(env.publicClient)
    const ds1 = new LevelDatastore(join(dir, 'db'))
    await ds1.open()
    const rep1 = createReputation({ ...options, publicClient: first.client, datastore: ds1 })
    const head1 = await env.publicClient.getBlockNumber({ cacheTime: 0 })
    const sync1 = await rep1.sync()
    expect(sync1).toMatchObject({ fromBlock: 0n, toBlock: head1, feedback: 1 })
    // Two contracts per range, no range wider than 4 blocks.
    for (const [from, to] of first.ranges) expect(to - from).toBeLessThan(4n)
    expect(first.ranges.at(-1)?.[1]).toBe(head1)
    // Nothing new → no log queries at all.
    first.ranges.length = 0
    expect(await rep1.sync()).toMatchObject({ fromBlock: undefined, toBlock: head1 })
    expect(first.ranges).toHaveLength(0)
    const before = await rep1.summary(agentId, { now: Date.UTC(2030, 0, 1) })
    expect(before.starred?.count).toBe(1)
    await ds1.close()

    await rate(60) // a second buyer would be a new vote; the same buyer's mean moves to 70
    const second = spy(env.publicClient)
    const ds2 = new LevelDatastore(join(dir, 'db'))
    await ds2.open()
    const rep2 = createReputation({ ...options, publicClient: second.client, datastore: ds2 })
    const sync2 = await rep2.sync()
    expect(sync2.fromBlock).toBe(head1 + 1n)
    expect(sync2.feedback).toBe(1)
    expect(Math.min(...second.ranges.map(([from]) => Number(from)))).toBe(Number(head1 + 1n))
    const list = await rep2.feedback(agentId)
    expect(list.map((f) => [f.value, f.counted])).toEqual([
      [80n, true],
      [60n, true]
    ])
    const after = await rep2.summary(agentId, { now: Date.UTC(2030, 0, 1) })
    expect(after.starred).toMatchObject({ count: 1, entries: 2, paidVolume: 2_000_000n })
    await ds2.close()
  })

  it('shares one run between concurrent syncs', async () => {
    const { MemoryDatastore } = await import('datastore-core')
    const s = spy(env.publicClient)
    const rep = createReputation({
      publicClient: s.client,
      identityRegistry: env.devnet.contracts.identityRegistry,
      reputationRegistry: env.devnet.contracts.reputationRegistry,
      asset: env.devnet.contracts.usdc,
      assetDecimals: 6,
      datastore: new MemoryDatastore()
    })
    await rep.sync() // initialise
    await rate(50)
    s.ranges.length = 0
    const [a, b] = await Promise.all([rep.sync(), rep.sync()])
    expect(a).toBe(b)
    expect(s.ranges).toHaveLength(2)
  })

  it('fails with a typed RegistryCallError when the registry events cannot be read, and an unknown agent by name', async () => {
    const { MemoryDatastore } = await import('datastore-core')
    const failing = new Proxy(env.publicClient, {
      get(target, prop, receiver) {
        if (prop === 'getContractEvents') return () => Promise.reject(new Error('eth_getLogs: range too large'))
        return Reflect.get(target, prop, receiver)
      }
    })
    const options = {
      identityRegistry: env.devnet.contracts.identityRegistry,
      reputationRegistry: env.devnet.contracts.reputationRegistry,
      asset: env.devnet.contracts.usdc,
      assetDecimals: 6
    }
    const broken = createReputation({ ...options, publicClient: failing, datastore: new MemoryDatastore() })
    await expect(broken.sync()).rejects.toBeInstanceOf(RegistryCallError)
    const rep = createReputation({ ...options, publicClient: env.publicClient, datastore: new MemoryDatastore() })
    const unknown = await rep.feedback(999n).catch((e: unknown) => e)
    expect(unknown).toBeInstanceOf(RegistryCallError)
    expect(unknown).toMatchObject({ reason: 'ERC721NonexistentToken' })
  })
})
