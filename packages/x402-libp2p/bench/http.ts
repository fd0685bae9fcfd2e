import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { DevnetAccount } from '@betar/devnet'
import { facilitatorSigner } from '@betar/devnet'
import { serve } from '@hono/node-server'
import { x402Facilitator } from '@x402/core/facilitator'
import type { FacilitatorClient } from '@x402/core/server'
import type { SupportedResponse } from '@x402/core/types'
import { ExactEvmScheme as ExactEvmFacilitatorScheme } from '@x402/evm/exact/facilitator'
import { ExactEvmScheme as ExactEvmServerScheme } from '@x402/evm/exact/server'
import { paymentMiddleware, x402ResourceServer } from '@x402/hono'
import { Hono } from 'hono'
import { createWalletClient, type LocalAccount, publicActions } from 'viem'
import { createNonceManager, jsonRpc } from 'viem/nonce'
import { httpBuyers } from './buyers.ts'
import { startRemoteBuyers } from './remote-buyers.ts'
import { countingHttp, POLLING_INTERVAL_MS, PRICE, Profile, type Stack, type StackChain, timedSigner } from './stats.ts'

/**
 * `@x402/hono` `paymentMiddleware` on a Hono app served by `@hono/node-server`, whose resource server uses an
 * in-process `x402Facilitator` + `ExactEvmScheme` with the seller's wallet (so it pays the same chain costs as the
 * libp2p local settler), and a `@x402/fetch` client with the official `x402Client` + `ExactEvmScheme`.
 */
export function startHttp(chain: StackChain): Promise<Stack> {
  return startHttpMany({ devnet: chain.devnet, seller: chain.seller, payers: [chain.payer] })
}

/**
 * {@link startHttp} with one `@x402/fetch` client per payer; `call(b)` is a paid call by buyer `b` — or, with
 * `buyersProcess`, the clients run in a process of their own and `run(perBuyer)` runs all their loops there.
 */
export async function startHttpMany(
  chain: Omit<StackChain, 'payer'> & { payers: readonly DevnetAccount[] },
  options: {
    /** Run the clients in a process of their own (bench/buyers-process.ts): the stack then has `run`. */
    buyersProcess?: boolean
  } = {}
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

  const remote =
    options.buyersProcess === true
      ? await startRemoteBuyers({
          stack: 'http',
          privateKeys: payers.map((p) => p.privateKey),
          url,
          network,
          asset: usdc.address,
          price: PRICE.toString()
        })
      : undefined
  const buyers =
    remote == null
      ? httpBuyers({
          url,
          network,
          asset: usdc.address,
          price: PRICE,
          signers: payers.map((payer) => timedSigner(payer.account, profile, () => clock.callStart))
        })
      : undefined

  return {
    name: 'HTTP x402 (hono+fetch)',
    profile,
    call: async (b = 0) => {
      clock.callStart = performance.now()
      if (buyers == null) throw new Error('the buyers run in their own process: use run()')
      await buyers.call(b)
    },
    ...(remote != null ? { run: (perBuyer: number) => remote.run(perBuyer) } : {}),
    stop: async () => {
      await remote?.stop()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await closed
    }
  }
}
