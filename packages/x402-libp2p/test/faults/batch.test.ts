import { usdcAbi } from '@betar/devnet'
import { createTestClient, encodeFunctionData, type Hash, http, parseGwei } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MULTICALL3_ADDRESS, X402Error } from '../../src/index.ts'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { connect, type FaultySeller, payJob, startBuyers, startFaultySeller, str } from './harness.ts'
import { assertMoneyInvariant, balances, type PaidCallLog } from './money.ts'

/**
 * Batched settlement (issue 14): the authorizations of several buyers go out in one Multicall3 `aggregate3`
 * transaction; each call's handler runs only once its own transfer is confirmed, and an authorization that fails
 * inside the batch (its payer emptied its wallet between the simulation and the block) is decided from the receipt's
 * logs — the others settle.
 */
describe('batched settlement through Multicall3', () => {
  let chain: Chain
  let seller: FaultySeller
  const submitted = new Map<string, Hash>()

  beforeAll(async () => {
    chain = await startChain(6)
    // A long linger on a chain that mines on demand: calls started together share a batch.
    seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
      settler: { batch: { minLingerMs: 300 } },
      server: { resolveIntervalMs: 200 }
    })
    seller.node.services.x402Server.addEventListener('payment:submitted', (e) => {
      if (e.detail.transaction != null) submitted.set(e.detail.correlationId, e.detail.transaction)
    })
  })
  afterAll(async () => {
    await seller?.stop()
    await chain?.stop()
  })

  it('three buyers are settled by one aggregate3 transaction, each paid once', { timeout: 60_000 }, async () => {
    const buyers = await startBuyers(
      chain,
      [1, 2, 3].map((i) => chain.devnet.accounts[i]!.account)
    )
    try {
      await connect(buyers, seller)
      const before = await balances(
        chain,
        buyers.map((b) => b.account.address)
      )
      const logs = await Promise.all(
        buyers.map((b, i) => payJob(b.node.services.x402Client, b.account.address, seller, `together-${i}`))
      )
      expect(logs.map((l) => l.error)).toEqual([undefined, undefined, undefined])
      const hashes = new Set(logs.map((l) => l.result!.settlement!.transaction))
      expect(hashes.size).toBe(1)
      const receipt = await chain.client.getTransactionReceipt({ hash: [...hashes][0] as Hash })
      expect(receipt.to?.toLowerCase()).toBe(MULTICALL3_ADDRESS.toLowerCase())
      expect(logs.map((l) => str(l.result!.body))).toEqual(['done:together-0', 'done:together-1', 'done:together-2'])
      await assertMoneyInvariant(chain, before, logs, { datastore: seller.datastore, settled: true })
    } finally {
      await Promise.all(buyers.map((b) => b.node.stop()))
    }
  })

  it('one authorization fails inside the batch: the others settle, it ends void, nothing is paid twice', {
    timeout: 90_000
  }, async () => {
    const test = createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })
    const accounts = [4, 5, 1].map((i) => chain.devnet.accounts[i]!)
    const buyers = await startBuyers(
      chain,
      accounts.map((a) => a.account),
      { reaskAttempts: 0 }
    )
    const drainer = accounts[2]!
    const sink = chain.devnet.accounts[3]!.address
    await connect(buyers, seller)
    const honest = await balances(chain, [accounts[0]!.address, accounts[1]!.address])
    const drainerStart = await chain.balance(drainer.address)
    const sinkStart = await chain.balance(sink)
    await test.setAutomine(false)
    let logs: PaidCallLog[] = []
    try {
      const ids = buyers.map((_, i) => `one-fails-${i}`)
      const calls = buyers.map((b, i) =>
        payJob(b.node.services.x402Client, b.account.address, seller, ids[i]!, {
          retry: { deadlineMs: 60_000, pauseMs: 200 }
        })
      )
      // The batch is simulated (all three pass) and broadcast; then, before any block, the third payer moves its whole
      // balance away with a higher tip, so its transfer is ordered first and the batch's call for it fails.
      for (;;) {
        if (ids.every((id) => submitted.has(id))) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      const hash = submitted.get(ids[0]!)!
      expect(ids.map((id) => submitted.get(id))).toEqual([hash, hash, hash])
      for (;;) {
        if ((await chain.client.getTransaction({ hash }).catch(() => undefined)) != null) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      // Signed here: a wallet client would estimate it against the pending batch, which already spends part of it.
      const raw = await drainer.account.signTransaction({
        chainId: chain.devnet.chainId,
        type: 'eip1559',
        nonce: await chain.client.getTransactionCount({ address: drainer.address }),
        to: chain.asset.address,
        data: encodeFunctionData({ abi: usdcAbi, functionName: 'transfer', args: [sink, drainerStart] }),
        gas: 100_000n,
        maxPriorityFeePerGas: parseGwei('50'),
        maxFeePerGas: parseGwei('100')
      })
      await chain.client.sendRawTransaction({ serializedTransaction: raw })
      await test.mine({ blocks: 1 })
      const receipt = await chain.client.getTransactionReceipt({ hash })
      expect(receipt.status).toBe('success') // allowFailure: the batch itself succeeds
      // The two honest calls complete; the third stays pending (its authorization is unused but still valid) until
      // the chain's clock passes its validBefore — then it is provably void.
      const [a, b] = await Promise.all(calls.slice(0, 2))
      expect([a!.error, b!.error]).toEqual([undefined, undefined])
      expect(a!.result!.settlement!.transaction).toBe(hash)
      expect(b!.result!.settlement!.transaction).toBe(hash)
      await test.increaseTime({ seconds: 600 })
      await test.mine({ blocks: 1 })
      const c = await calls[2]!
      expect(c.result).toBeUndefined()
      expect(c.error).toBeInstanceOf(X402Error)
      expect((c.error as X402Error).codeName).toBe('SETTLEMENT_FAILED')
      logs = [a!, b!, c]
      expect(seller.runs.get(ids[2]!)).toBeUndefined() // its handler never ran
      await assertMoneyInvariant(chain, honest, logs, { datastore: seller.datastore, settled: true })
      // The third payer paid nothing to the seller: everything it had went to where it sent it.
      expect(await chain.balance(drainer.address)).toBe(0n)
      expect(await chain.balance(sink)).toBe(sinkStart + drainerStart)
    } finally {
      await test.setAutomine(true)
      await Promise.all(buyers.map((b) => b.node.stop()))
    }
  })
})
