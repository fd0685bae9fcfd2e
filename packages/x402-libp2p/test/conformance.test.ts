import { createTestClient, http } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONFORMANCE_CASES, type ConformanceReport, runConformance } from '../src/conformance/index.ts'
import { localSettler } from '../src/index.ts'
import { serveLiar } from './conformance/liar.ts'
import { clientsVia } from './faults/harness.ts'
import { RpcProxy } from './faults/rpc-proxy.ts'
import { type Chain, startChain } from './fixtures/chain.ts'
import { createNode, type Transport, type X402Node } from './fixtures/nodes.ts'

const PRICE = 10_000n // 0.01 USDC
const FRAME_TIMEOUT_MS = 2_000
const text = (s: string) => new TextEncoder().encode(s)

let chain: Chain

beforeAll(async () => {
  chain = await startChain(3)
})
afterAll(async () => {
  await chain?.stop()
})

function summary(report: ConformanceReport): string {
  const failing = report.results.filter((r) => !r.passed && r.skipped == null)
  return failing.map((r) => `\n  ✗ ${r.id} (${r.specRef}): ${r.error}`).join('') || 'none'
}

for (const transport of ['tcp', 'quic'] as Transport[]) {
  describe(`conformance over ${transport}`, () => {
    let seller: X402Node
    let dialer: X402Node
    let proxy: RpcProxy

    beforeAll(async () => {
      const seller0 = chain.devnet.accounts[0]!
      // The seller reaches its chain through a proxy, so the recovery cases can break it.
      proxy = await RpcProxy.start(chain.devnet.rpcUrl)
      seller = await createNode({
        transport,
        server: {
          settler: localSettler(clientsVia(chain, proxy.url, seller0.account)),
          asset: chain.asset,
          frameTimeoutMs: FRAME_TIMEOUT_MS,
          confirmationTimeoutMs: 1_000
        }
      })
      seller.services.x402Server.register('echo', {
        price: { amount: PRICE },
        handler: (req) => text(`echo:${new TextDecoder().decode(req.body)}`)
      })
      seller.services.x402Server.register('free', { price: null, handler: () => text('gratis') })
      seller.services.x402Server.register('boom', {
        price: { amount: PRICE },
        handler: () => {
          throw new Error('boom')
        }
      })
      dialer = await createNode({ transport })
    })
    afterAll(async () => {
      await dialer?.stop()
      await seller?.stop()
      await proxy?.stop()
    })

    it('passes every case of the spec', { timeout: 60_000 }, async () => {
      const started = Date.now()
      const report = await runConformance(
        {
          peer: seller.getMultiaddrs(),
          paid: { resource: 'echo', amount: PRICE, payTo: chain.devnet.accounts[0]!.address, asset: chain.asset },
          free: { resource: 'free' },
          failing: { resource: 'boom' },
          limits: { frameTimeoutMs: FRAME_TIMEOUT_MS }
        },
        {
          node: dialer,
          payer: chain.devnet.accounts[1]!.account,
          poorPayer: privateKeyToAccount(generatePrivateKey()),
          publicClient: chain.client,
          faults: {
            async interruptVerification() {
              proxy.fault({ method: 'eth_call', action: { kind: 'refuse' } })
              return async () => proxy.heal()
            },
            async holdBlocks() {
              const test = createTestClient({
                mode: 'anvil',
                chain: chain.devnet.chain,
                transport: http(chain.devnet.rpcUrl)
              })
              await test.setAutomine(false)
              return async () => {
                await test.mine({ blocks: 1 })
                await test.setAutomine(true)
              }
            }
          }
        }
      )
      console.log(
        `conformance over ${transport}: ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped ` +
          `in ${Date.now() - started} ms` +
          report.results
            .map((r) => `\n  ${r.passed ? '✓' : r.skipped != null ? '-' : '✗'} ${r.id} ${r.durationMs} ms`)
            .join('')
      )
      expect(report.failed, `failing cases:${summary(report)}`).toBe(0)
      expect(report.skipped).toBe(0)
      expect(report.results.map((r) => r.id)).toEqual(CONFORMANCE_CASES.map((c) => c.id))
    })
  })
}

describe('the conformance suite itself', () => {
  it('fails a server that answers everything with a made-up paid RESPONSE', { timeout: 30_000 }, async () => {
    const liar = await createNode({ server: { protocolPrefix: '/not-served' } })
    const dialer = await createNode()
    try {
      await serveLiar(liar, chain.asset.network)
      const report = await runConformance(
        {
          peer: liar.getMultiaddrs(),
          paid: { resource: 'echo', amount: PRICE, payTo: chain.devnet.accounts[0]!.address, asset: chain.asset },
          free: { resource: 'free' },
          failing: { resource: 'boom' },
          limits: { frameTimeoutMs: 500 }
        },
        {
          node: dialer,
          payer: chain.devnet.accounts[1]!.account,
          poorPayer: privateKeyToAccount(generatePrivateKey()),
          publicClient: chain.client,
          filter: /^(flow|error)\./,
          caseTimeoutMs: 5_000
        }
      )
      const passed = report.results.filter((r) => r.passed).map((r) => r.id)
      expect(passed).toEqual(['flow.free'])
      expect(report.failed).toBe(report.results.length - 1)
    } finally {
      await dialer.stop()
      await liar.stop()
    }
  })
})
