import { createPublicClient, createWalletClient, http } from 'viem'
import { afterAll, describe, expect, it } from 'vitest'
import { localSettler } from '../src/index.ts'
import { RpcProxy } from './faults/rpc-proxy.ts'
import { type Chain, startChain } from './fixtures/chain.ts'
import { createNode, type X402Node } from './fixtures/nodes.ts'

const PRICE = 1_000n
const text = (s: string) => new TextEncoder().encode(s)
const str = (b: Uint8Array) => new TextDecoder().decode(b)
const SYNC = 'eth_sendRawTransactionSync'
const RAW = 'eth_sendRawTransaction'

/** A seller settling through `proxy` (so every JSON-RPC request is seen), batching, with `syncBroadcast`. */
async function seller(chain: Chain, proxy: RpcProxy): Promise<X402Node> {
  const account = chain.devnet.accounts[0]!
  const transport = http(proxy.url)
  const node = await createNode({
    server: {
      settler: localSettler({
        walletClient: createWalletClient({ account: account.account, chain: chain.devnet.chain, transport }),
        publicClient: createPublicClient({ chain: chain.devnet.chain, transport, pollingInterval: 20 }),
        batch: true,
        syncBroadcast: true
      }),
      asset: chain.asset
    }
  })
  node.services.x402Server.register('paid', {
    price: { amount: PRICE },
    handler: (req) => text(`paid:${str(req.body)}`)
  })
  return node
}

describe('syncBroadcast: a chain that mines on demand answers the broadcast with its receipt (EIP-7966)', () => {
  const stops: Array<() => unknown> = []
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop()
  })

  async function setup(blockTime?: number) {
    const chain = await startChain(3, blockTime != null ? { blockTime } : {})
    const proxy = await RpcProxy.start(chain.devnet.rpcUrl)
    const node = await seller(chain, proxy)
    const buyerAccount = chain.devnet.accounts[1]!
    const buyer = await createNode({ client: { signer: buyerAccount.account, asset: chain.asset } })
    stops.push(
      () => chain.stop(),
      () => proxy.stop(),
      () => node.stop(),
      () => buyer.stop()
    )
    const payTo = chain.devnet.accounts[0]!.address
    const call = (id: string) =>
      buyer.services.x402Client.call(node.getMultiaddrs(), 'paid', id, { maxAmount: PRICE, payTo, correlationId: id })
    return { chain, proxy, buyer, call, payer: buyerAccount.address }
  }

  it('learns that the chain mines on demand, then settles each call with a simulation and one request', async () => {
    const { chain, proxy, call, payer } = await setup()
    const before = await chain.balance(payer)
    // Learning: the first settlements are broadcast and their receipts read from their blocks.
    for (let i = 0; i < 3; i++) expect(str((await call(`learn-${i}`)).body)).toBe(`paid:learn-${i}`)
    const from = proxy.calls.length
    for (let i = 0; i < 5; i++) {
      const r = await call(`sync-${i}`)
      expect(r.settlement?.success).toBe(true)
    }
    const methods = proxy.calls.slice(from).map((c) => c.method)
    expect(methods.filter((m) => m === SYNC)).toHaveLength(5)
    expect(methods.filter((m) => m === 'eth_call')).toHaveLength(5) // the verification's simulation
    // Nothing else per call: no plain broadcast, no head or block reads (a fee refresh at most).
    expect(methods.filter((m) => m !== SYNC && m !== 'eth_call' && !/Fee|getBlockByNumber/.test(m))).toEqual([])
    expect(before - (await chain.balance(payer))).toBe(8n * PRICE)
  })

  it('concurrent calls form batches while one is being mined (group commit), each paid once', async () => {
    const { chain, proxy, call, payer } = await setup()
    for (let i = 0; i < 3; i++) await call(`learn-${i}`)
    const before = await chain.balance(payer)
    const from = proxy.calls.length
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => call(`group-${i}`)))
    expect(results.map((r) => str(r.body))).toEqual(results.map((_, i) => `paid:group-${i}`))
    const sent = proxy.calls.slice(from).filter((c) => c.method === SYNC || c.method === RAW)
    expect(sent.length).toBeLessThan(12)
    expect(new Set(results.map((r) => r.settlement?.transaction)).size).toBe(sent.length)
    expect(before - (await chain.balance(payer))).toBe(12n * PRICE)
  })

  it('a node without the method is asked once, then broadcasts as usual', async () => {
    const { proxy, call } = await setup()
    proxy.fault({
      method: SYNC,
      action: { kind: 'error', code: -32601, message: 'the method eth_sendRawTransactionSync does not exist' },
      times: 100
    })
    for (let i = 0; i < 6; i++) expect((await call(`old-${i}`)).settlement?.success).toBe(true)
    expect(proxy.count(SYNC)).toBe(1)
    expect(proxy.count(RAW)).toBe(6)
  })

  it('on a chain with block times it never waits for a block in the broadcast', async () => {
    const { proxy, call } = await setup(1)
    for (let i = 0; i < 4; i++) expect((await call(`block-${i}`)).settlement?.success).toBe(true)
    expect(proxy.count(SYNC)).toBe(0)
    expect(proxy.count(RAW)).toBe(4)
  })
})
