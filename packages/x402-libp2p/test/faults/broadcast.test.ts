import type { LocalAccount } from 'viem'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Chain, startChain } from '../fixtures/chain.ts'
import type { X402Node } from '../fixtures/nodes.ts'
import { connect, type FaultySeller, payJob, startBuyers, startFaultySeller, str, totalRuns } from './harness.ts'
import { assertMoneyInvariant, balances, type PaidCallLog } from './money.ts'
import type { FaultAction } from './rpc-proxy.ts'

/**
 * Issue case 1: the node accepts `eth_sendRawTransaction` but the settler never hears its answer (HTTP 502 after
 * forwarding, a reset connection, a stall past the client's timeout) — or never sees the request at all (refused).
 * The settlement transaction was signed and persisted before the broadcast, so its hash is known: the call settles
 * from its receipt (or a re-broadcast of the stored raw transaction) and the buyer gets the result, charged once.
 */
let chain: Chain
let buyers: Array<{ node: X402Node; account: LocalAccount }>

beforeAll(async () => {
  chain = await startChain(12)
  buyers = await startBuyers(
    chain,
    chain.devnet.accounts.slice(1, 11).map((a) => a.account)
  )
})
afterAll(async () => {
  await Promise.all(buyers.map((b) => b.node.stop()))
  await chain?.stop()
})

let seller: FaultySeller | undefined
afterEach(async () => {
  await seller?.stop()
  seller = undefined
})

async function oneCall(action: FaultAction, transport?: { timeout?: number }) {
  seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, transport != null ? { transport } : {})
  seller.proxy.fault({ method: 'eth_sendRawTransaction', action })
  const buyer = buyers[0]!
  const before = await balances(chain, [buyer.account.address])
  const log = await payJob(
    buyer.node.services.x402Client,
    buyer.account.address,
    seller,
    `one-${crypto.randomUUID()}`,
    {
      body: 'one'
    }
  )
  expect(seller.proxy.faultsApplied()).toBe(1)
  expect(log.error).toBeUndefined()
  expect(str(log.result!.body)).toBe('done:one')
  expect(seller.runs.get(log.correlationId)).toBe(1)
  await assertMoneyInvariant(chain, before, [log], { datastore: seller.datastore, settled: true })
  return log
}

describe('a lost broadcast answer never turns a transfer into "failed, nothing moved"', () => {
  it('HTTP 502 after the node accepted the transaction', async () => {
    await oneCall({ kind: 'lose', how: '502' })
  })

  it('connection reset after the node accepted the transaction', async () => {
    await oneCall({ kind: 'lose', how: 'reset' })
  })

  it('an answer stalled past the client timeout', async () => {
    const log = await oneCall({ kind: 'stall', ms: 1_500 }, { timeout: 500 })
    expect(log.asks).toBe(1) // the server waited for the confirmation: no re-ask needed
  })

  it('a broadcast refused before reaching the node is re-broadcast from the stored raw transaction', async () => {
    await oneCall({ kind: 'refuse' })
    expect(seller!.proxy.count('eth_sendRawTransaction')).toBeGreaterThanOrEqual(2)
  })
})

describe('50 concurrent paid calls with one lost broadcast answer', () => {
  it('every buyer gets its result and is charged exactly once per result', { timeout: 90_000 }, async () => {
    seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account)
    seller.proxy.fault({ method: 'eth_sendRawTransaction', nth: 17, action: { kind: 'lose', how: '502' } })
    const current = seller
    await connect(buyers, current)
    const before = await balances(
      chain,
      buyers.map((b) => b.account.address)
    )
    const logs: PaidCallLog[] = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const buyer = buyers[i % buyers.length]!
        return payJob(buyer.node.services.x402Client, buyer.account.address, current, `fifty-${i}`)
      })
    )
    expect(current.proxy.faultsApplied()).toBe(1)
    expect(logs.filter((l) => l.result == null).map((l) => String(l.error))).toEqual([])
    expect(totalRuns(current.runs)).toBe(50)
    expect([...current.runs.values()].every((n) => n === 1)).toBe(true)
    await assertMoneyInvariant(chain, before, logs, { datastore: current.datastore, settled: true })
  })
})
