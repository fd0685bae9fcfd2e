import { type FacilitatorServer, startDevnetFacilitator } from '@betar/devnet'
import { MemoryDatastore } from 'datastore-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { facilitatorSettler } from '../../src/index.ts'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { createNode, type X402Node } from '../fixtures/nodes.ts'
import { PRICE, startBuyers, str, text } from './harness.ts'
import { assertMoneyInvariant, balances, callUntilOutcome } from './money.ts'
import { type FaultAction, RpcProxy } from './rpc-proxy.ts'

/**
 * The same guarantees when an x402 facilitator settles: its failures during `/verify` are SERVICE_UNAVAILABLE (nothing
 * reserved), and a `/settle` whose answer is lost — after the facilitator broadcast, or before it saw the request — is
 * resolved from the chain (the token's `authorizationState` and `AuthorizationUsed` log) or handed over again.
 */
describe('settlement through a facilitator behind a faulty link', () => {
  let chain: Chain
  let facilitator: FacilitatorServer
  let proxy: RpcProxy
  let seller: X402Node
  let buyer: X402Node
  const datastore = new MemoryDatastore()
  let runs = 0

  beforeAll(async () => {
    chain = await startChain(3)
    facilitator = await startDevnetFacilitator(chain.devnet)
    proxy = await RpcProxy.start(facilitator.url)
    seller = await createNode({
      datastore,
      server: {
        settler: facilitatorSettler({
          url: proxy.url,
          payTo: chain.devnet.accounts[0]!.address,
          publicClient: chain.client,
          resubmitAfterMs: 500,
          refunder: chain.refunderFor(chain.devnet.accounts[0]!)
        }),
        asset: chain.asset,
        confirmationTimeoutMs: 3_000
      }
    })
    seller.services.x402Server.register('job', {
      price: { amount: PRICE },
      handler: (req) => {
        runs++
        return text(`done:${str(req.body)}`)
      }
    })
    const [started] = await startBuyers(chain, [chain.devnet.accounts[1]!.account], { reaskAttempts: 3 })
    buyer = started!.node
  })
  afterAll(async () => {
    await Promise.all([buyer?.stop(), seller?.stop()])
    await proxy?.stop()
    await facilitator?.stop()
    await chain?.stop()
  })
  afterEach(() => proxy.heal())

  const cases: Array<[string, string, FaultAction]> = [
    ['/verify unreachable', '/verify', { kind: 'refuse' }],
    ['/settle answer lost after the facilitator settled', '/settle', { kind: 'lose', how: 'reset' }],
    ['/settle refused before the facilitator saw it', '/settle', { kind: 'refuse' }]
  ]
  cases.forEach(([name, path, action], i) => {
    it(`${name}: the buyer gets the result, charged once`, { timeout: 30_000 }, async () => {
      const payer = chain.devnet.accounts[1]!.address
      const before = await balances(chain, [payer])
      const runsBefore = runs
      const applied = proxy.faultsApplied()
      proxy.fault({ method: path, action })
      const log = await callUntilOutcome(
        buyer.services.x402Client,
        payer,
        seller.getMultiaddrs(),
        'job',
        text(`f${i}`),
        { maxAmount: PRICE, payTo: chain.devnet.accounts[0]!.address, correlationId: `facilitator-fault-${i}` },
        { deadlineMs: 20_000, pauseMs: 300 }
      )
      expect(proxy.faultsApplied()).toBe(applied + 1)
      expect(log.error).toBeUndefined()
      expect(str(log.result!.body)).toBe(`done:f${i}`)
      expect(runs).toBe(runsBefore + 1)
      await assertMoneyInvariant(chain, before, [log], { datastore })
    })
  })
})
