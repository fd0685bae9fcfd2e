import { reputationRegistryAbi } from '@betar/contracts'
import { MemoryDatastore } from 'datastore-core'
import { createTestClient, type Hash, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClients, type NodeClients } from '../src/clients.ts'
import { FeedbackQueue } from '../src/feedback.ts'
import { type BetarNode, sellAgent } from '../src/index.ts'
import { nodeOn, startDevnet, textStatsAgent } from './fixtures.ts'

/**
 * A feedback is given once, whatever happens between its transaction and its receipt: the answer lost while the
 * transaction waits in the mempool, the buyer restarted meanwhile, or the transaction dropped from the pool.
 */
describe('full node: feedback is given exactly once', () => {
  let devnet: Awaited<ReturnType<typeof startDevnet>>
  let seller: BetarNode
  let agentId: bigint
  let agentRegistry: `eip155:${number}:0x${string}`

  const test = () => createTestClient({ mode: 'anvil', chain: devnet.chain, transport: http(devnet.rpcUrl) })
  const buyerClients = (): NodeClients => createClients(devnet.rpcUrl, devnet.chain, devnet.accounts[1]!.account)
  const queue = (datastore: MemoryDatastore, clients = buyerClients()) =>
    new FeedbackQueue({ datastore, clients, store: async () => 'unused', retryIntervalMs: 0 })
  const job = (correlationId: string) => ({
    correlationId,
    agentId: agentId.toString(),
    agentRegistry,
    reputationRegistry: devnet.network.erc8004.reputationRegistry,
    value: 90,
    endpoint: '/x402/text-stats',
    // The registry does not read the proof; the scorer does (see @betar/reputation's own tests).
    proof: {
      fromAddress: devnet.accounts[1]!.address,
      toAddress: devnet.accounts[0]!.address,
      chainId: devnet.chain.id,
      txHash: `0x${'ab'.repeat(32)}` as Hash,
      amount: '250000',
      asset: devnet.network.usdc.address,
      correlationId
    },
    storage: 'data-uri' as const
  })
  const ratings = async () =>
    (
      await buyerClients().publicClient.getContractEvents({
        address: devnet.network.erc8004.reputationRegistry,
        abi: reputationRegistryAbi,
        eventName: 'NewFeedback',
        args: { agentId, clientAddress: devnet.accounts[1]!.address },
        fromBlock: 0n
      })
    ).map((e) => e.transactionHash)

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 2 })
    seller = await nodeOn(devnet, 0)
    const sold = await sellAgent(seller, textStatsAgent)
    agentId = sold.registration.agentId
    agentRegistry = sold.registration.agentRegistry as typeof agentRegistry
  }, 60_000)
  afterAll(async () => {
    await test()
      .setAutomine(true)
      .catch(() => {})
    await seller?.stop()
    await devnet?.stop()
  })

  it('a slow chain: the result is not held back, a restarted buyer does not send again while the first is unmined', async () => {
    const datastore = new MemoryDatastore()
    const before = await ratings()
    await test().setAutomine(false)
    try {
      const first = queue(datastore)
      const waiting = await first.give(job('slow'), { waitMs: 300 })
      expect(waiting).toMatchObject({ state: 'pending', attempts: 1, lastError: 'not mined yet' })
      expect(waiting.sentAt).toBeTypeOf('number')

      // The buyer restarts (a new queue on the same datastore) while the transaction still waits in the pool.
      const restarted = queue(datastore)
      const held = await restarted.retryNow('slow')
      expect(held).toMatchObject({ state: 'pending', attempts: 1 })
      expect(held?.lastError).toMatch(/^FeedbackInFlightError: .*1 unmined transaction/)
      const { publicClient } = buyerClients()
      const address = devnet.accounts[1]!.address
      const [latest, pending] = await Promise.all([
        publicClient.getTransactionCount({ address, blockTag: 'latest' }),
        publicClient.getTransactionCount({ address, blockTag: 'pending' })
      ])
      expect(pending - latest).toBe(1) // one feedback transaction, not two

      await test().mine({ blocks: 1 })
      const given = await restarted.retryNow('slow')
      expect(given).toMatchObject({ state: 'given', attempts: 1 })
      const added = (await ratings()).filter((h) => !before.includes(h))
      expect(added).toEqual([given!.result!.txHash])
    } finally {
      await test().setAutomine(true)
    }
  }, 30_000)

  it('a transaction dropped from the pool is sent again, and the rating lands once', async () => {
    const datastore = new MemoryDatastore()
    const before = await ratings()
    await test().setAutomine(false)
    let dropped: Hash | undefined
    try {
      const waiting = await queue(datastore).give(job('dropped'), { waitMs: 300 })
      expect(waiting).toMatchObject({ state: 'pending', attempts: 1 })
      const address = devnet.accounts[1]!.address.toLowerCase()
      const pending = (await test().getTxpoolContent()).pending
      const pool = Object.entries(pending).find(([from]) => from.toLowerCase() === address)?.[1] ?? {}
      dropped = Object.values(pool)[0]?.hash
      expect(dropped).toBeDefined()
      await test().dropTransaction({ hash: dropped! })
    } finally {
      await test().setAutomine(true)
    }
    // A restarted buyer: nothing pending and nothing on-chain, so it sends again — with a nonce the chain accepts.
    const given = await queue(datastore).retryNow('dropped')
    expect(given).toMatchObject({ state: 'given', attempts: 2 })
    const added = (await ratings()).filter((h) => !before.includes(h))
    expect(added).toEqual([given!.result!.txHash])
  }, 30_000)
})
