import { type Devnet, startDevnet } from '@betar/devnet'
import { createPublicClient, createWalletClient, type Hash, http, type PublicClient, parseEther } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ReceiptWatcher } from '../src/settlement/receipt-watcher.ts'
import { RpcProxy } from './faults/rpc-proxy.ts'

let devnet: Devnet
let proxy: RpcProxy
let client: PublicClient

beforeAll(async () => {
  devnet = await startDevnet({ accounts: 3 })
  proxy = await RpcProxy.start(devnet.rpcUrl)
  client = createPublicClient({ chain: devnet.chain, transport: http(proxy.url) })
}, 60_000)

afterAll(async () => {
  await proxy?.stop()
  await devnet?.stop()
})

/** Signs a plain ETH transfer (from one of the funded accounts), not yet broadcast. */
async function signTransfer(from = 0, nonceOffset = 0): Promise<{ hash: Hash; raw: `0x${string}` }> {
  const account = devnet.accounts[from]!.account
  const wallet = createWalletClient({ account, chain: devnet.chain, transport: http(devnet.rpcUrl) })
  const request = await wallet.prepareTransactionRequest({
    to: devnet.accounts[2]!.address,
    value: parseEther('0.001'),
    nonce: (await client.getTransactionCount({ address: account.address, blockTag: 'pending' })) + nonceOffset
  })
  const raw = await wallet.signTransaction(request)
  const { keccak256 } = await import('viem')
  return { hash: keccak256(raw), raw }
}

describe('ReceiptWatcher: one reader of new blocks, shared by every waiting call', () => {
  it('64 waiters cost the chain a few requests per block, not a poll each', async () => {
    const watcher = new ReceiptWatcher(client, { maxPollMs: 50 })
    await client.request({ method: 'evm_setAutomine', params: [false] } as never)
    try {
      const txs = await Promise.all(Array.from({ length: 64 }, (_, i) => signTransfer(i % 2, Math.floor(i / 2))))
      for (const tx of txs) await watcher.expect(tx.hash)
      for (const tx of txs) await client.sendRawTransaction({ serializedTransaction: tx.raw })
      const before = proxy.calls.length
      const waits = txs.map((tx) => watcher.wait([tx.hash], 10_000))
      await new Promise((r) => setTimeout(r, 500)) // every waiter waits for half a second: no block yet
      await client.request({ method: 'evm_mine', params: [] } as never)
      const receipts = await Promise.all(waits)
      expect(receipts.map((r) => r?.status)).toEqual(txs.map(() => 'success'))
      expect(receipts.map((r) => r?.transactionHash)).toEqual(txs.map((t) => t.hash))
      const requests = proxy.calls.slice(before)
      // Half a second of polling at ≤ 50 ms, then one block read; nothing per waiter.
      expect(requests.filter((c) => c.method === 'eth_getTransactionReceipt')).toHaveLength(0)
      expect(requests.filter((c) => c.method === 'eth_getBlockReceipts')).toHaveLength(1)
      expect(requests.length).toBeLessThan(30)
    } finally {
      await client.request({ method: 'evm_setAutomine', params: [true] } as never)
    }
  })

  it('a transaction mined before anyone waited is found (announced: from the block; not announced: asked once)', async () => {
    const watcher = new ReceiptWatcher(client)
    const announced = await signTransfer()
    await watcher.expect(announced.hash)
    await client.sendRawTransaction({ serializedTransaction: announced.raw })
    const other = await signTransfer()
    await client.sendRawTransaction({ serializedTransaction: other.raw })
    await new Promise((r) => setTimeout(r, 100))
    expect((await watcher.wait([announced.hash], 5_000))?.transactionHash).toBe(announced.hash)
    expect((await watcher.wait([other.hash], 5_000))?.transactionHash).toBe(other.hash)
  })

  it('lost, refused and stalled answers never fail a wait; the receipt arrives once the node answers again', async () => {
    const watcher = new ReceiptWatcher(client, { maxPollMs: 20 })
    const tx = await signTransfer()
    await watcher.expect(tx.hash)
    proxy.fault({ method: 'eth_blockNumber', action: { kind: 'refuse' }, times: 5 })
    proxy.fault({ method: 'eth_getBlockReceipts', action: { kind: 'lose', how: 'reset' }, times: 2 })
    await client.sendRawTransaction({ serializedTransaction: tx.raw })
    const receipt = await watcher.wait([tx.hash], 10_000)
    expect(receipt?.transactionHash).toBe(tx.hash)
    expect(proxy.faultsApplied()).toBeGreaterThanOrEqual(5)
    proxy.heal()
  })

  it('a node without eth_getBlockReceipts: the block is read, then only the matching receipt', async () => {
    const watcher = new ReceiptWatcher(client, { maxPollMs: 20 })
    proxy.fault({
      method: 'eth_getBlockReceipts',
      action: { kind: 'error', code: -32601, message: 'the method eth_getBlockReceipts does not exist' },
      times: 1_000
    })
    try {
      const tx = await signTransfer()
      await watcher.expect(tx.hash)
      await client.sendRawTransaction({ serializedTransaction: tx.raw })
      expect((await watcher.wait([tx.hash], 10_000))?.transactionHash).toBe(tx.hash)
    } finally {
      proxy.heal()
    }
  })

  it('times out with undefined for a transaction never sent; an abort rejects with its reason', async () => {
    const watcher = new ReceiptWatcher(client, { maxPollMs: 20 })
    const never = await signTransfer()
    expect(await watcher.wait([never.hash], 200)).toBeUndefined()
    const controller = new AbortController()
    const waiting = watcher.wait([never.hash], 10_000, controller.signal)
    setTimeout(() => controller.abort(new Error('caller gave up')), 50)
    await expect(waiting).rejects.toThrow('caller gave up')
  })
})
