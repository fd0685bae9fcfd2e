import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { DevnetAccount } from '@betar/devnet'
import { facilitatorSigner } from '@betar/devnet'
import { serve } from '@hono/node-server'
import { x402Facilitator } from '@x402/core/facilitator'
import type { FacilitatorClient } from '@x402/core/server'
import type { SupportedResponse } from '@x402/core/types'
import { ExactEvmScheme as ExactEvmClientScheme } from '@x402/evm/exact/client'
import { ExactEvmScheme as ExactEvmFacilitatorScheme } from '@x402/evm/exact/facilitator'
import { ExactEvmScheme as ExactEvmServerScheme } from '@x402/evm/exact/server'
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from '@x402/fetch'
import { paymentMiddleware, x402ResourceServer } from '@x402/hono'
import { Hono } from 'hono'
import { createWalletClient, type LocalAccount, publicActions } from 'viem'
import { createNonceManager, jsonRpc } from 'viem/nonce'
import { countingHttp, POLLING_INTERVAL_MS, PRICE, Profile, type Stack, type StackChain, timedSigner } from './stats.ts'

/**
 * `@x402/hono` `paymentMiddleware` on a Hono app served by `@hono/node-server`, whose resource server uses an
 * in-process `x402Facilitator` + `ExactEvmScheme` with the seller's wallet (so it pays the same chain costs as the
 * libp2p local settler), and a `@x402/fetch` client with the official `x402Client` + `ExactEvmScheme`.
 */
export function startHttp(chain: StackChain): Promise<Stack> {
  return startHttpMany({ devnet: chain.devnet, seller: chain.seller, payers: [chain.payer] })
}

/** {@link startHttp} with one `@x402/fetch` client per payer; `call(b)` is a paid call by buyer `b`. */
export async function startHttpMany(
  chain: Omit<StackChain, 'payer'> & { payers: readonly DevnetAccount[] }
): Promise<Stack> {
  const { devnet, seller, payers } = chain
  const network = devnet.network.caip2
  const usdc = devnet.network.usdc
  const profile = new Profile()
  const clock = { callStart: 0, verifyEnd: 0, handlerEnd: 0 }

  // The seller's wallet as facilitator signer. Concurrent settlements need a nonce manager (x402.md §9).
  const account: LocalAccount = { ...seller.account, nonceManager: createNonceManager({ source: jsonRpc() }) }
  const wallet = createWalletClient({
    account,
    chain: devnet.chain,
    transport: countingHttp(devnet.rpcUrl, profile),
    pollingInterval: POLLING_INTERVAL_MS
  }).extend(publicActions)
  const signer = facilitatorSigner(wallet, { pollingInterval: POLLING_INTERVAL_MS })
  const facilitator = new x402Facilitator().register(network, new ExactEvmFacilitatorScheme(signer))
  const facilitatorClient: FacilitatorClient = {
    verify: async (payload, requirements) => {
      const verdict = await profile.time('server: verify', () => facilitator.verify(payload, requirements))
      clock.verifyEnd = performance.now()
      return verdict
    },
    settle: (payload, requirements) => {
      profile.add('server: handler → settle', performance.now() - clock.handlerEnd)
      return profile.time('server: settle', () => facilitator.settle(payload, requirements))
    },
    getSupported: async () => facilitator.getSupported() as SupportedResponse
  }

  const resourceServer = new x402ResourceServer(facilitatorClient).register(network, new ExactEvmServerScheme())
  const app = new Hono()
  app.use(
    paymentMiddleware(
      {
        'POST /echo': {
          accepts: {
            scheme: 'exact',
            network,
            payTo: seller.address,
            price: { asset: usdc.address, amount: PRICE.toString(), extra: { name: usdc.name, version: usdc.version } },
            maxTimeoutSeconds: 60
          },
          description: 'echoes its input'
        }
      },
      resourceServer
    )
  )
  app.post('/echo', async (c) => {
    profile.add('server: verify → handler', performance.now() - clock.verifyEnd)
    const body = `echo:${await c.req.text()}`
    clock.handlerEnd = performance.now()
    return c.text(body)
  })

  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s as Server))
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/echo`

  const fetches = payers.map((payer) =>
    wrapFetchWithPayment(
      fetch,
      new x402Client()
        .register(network, new ExactEvmClientScheme(timedSigner(payer.account, profile, () => clock.callStart)))
        .setSpendControls({ allowedAssets: [{ network, asset: usdc.address, maxAmountPerPayment: PRICE.toString() }] })
    )
  )

  return {
    name: 'HTTP x402 (hono+fetch)',
    profile,
    call: async (b = 0) => {
      clock.callStart = performance.now()
      const fetchWithPayment = fetches[b] as (typeof fetches)[number]
      const res = await fetchWithPayment(url, { method: 'POST', body: 'hi', signal: AbortSignal.timeout(30_000) })
      const body = await res.text()
      const header = res.headers.get('PAYMENT-RESPONSE')
      const settlement = header != null ? decodePaymentResponseHeader(header) : undefined
      if (res.status !== 200 || body !== 'echo:hi' || settlement?.success !== true) {
        throw new Error(`bad paid HTTP result: ${res.status} ${body} ${JSON.stringify(settlement)}`)
      }
    },
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await closed
    }
  }
}
