import { facilitatorSigner } from '@betar/devnet'
import { x402Client as OfficialClient } from '@x402/core/client'
import { validatePaymentPayload } from '@x402/core/schemas'
import { x402ResourceServer } from '@x402/core/server'
import type { PaymentRequired } from '@x402/core/types'
import { ExactEvmScheme as ExactEvmClientScheme } from '@x402/evm/exact/client'
import { ExactEvmScheme as ExactEvmFacilitatorScheme } from '@x402/evm/exact/facilitator'
import { createWalletClient, http, publicActions, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Channel } from '../src/channel.ts'
import { signExactPayment } from '../src/client/sign.ts'
import { X402_PROTOCOL } from '../src/index.ts'
import { jsonBytes } from '../src/json.ts'
import { type Chain, startChain } from './fixtures/chain.ts'
import { createNode, type X402Node } from './fixtures/nodes.ts'

const PRICE = 12_345n
const text = (s: string) => new TextEncoder().encode(s)

describe('interoperability with the official x402 packages', () => {
  let chain: Chain
  let seller: X402Node
  let dialer: X402Node

  beforeAll(async () => {
    chain = await startChain()
    seller = await createNode({ server: { settler: chain.settlerFor(chain.devnet.accounts[0]!), asset: chain.asset } })
    dialer = await createNode()
    seller.services.x402Server.register('quote', { price: { amount: PRICE }, handler: () => text('42') })
  })
  afterAll(async () => {
    await Promise.all([dialer?.stop(), seller?.stop()])
    await chain?.stop()
  })

  it("accepts a payload made by @x402/evm's official client (1-trip, client nonce) and settles it", async () => {
    const requirements = seller.services.x402Server.requirements('quote')[0]!
    const paymentRequired: PaymentRequired = {
      x402Version: 2,
      resource: { url: `libp2p://${seller.peerId}/quote` },
      accepts: [requirements]
    }
    const official = new OfficialClient()
      .register('eip155:*', new ExactEvmClientScheme(chain.devnet.accounts[3]!.account))
      .setSpendControls({
        allowedAssets: [{ network: chain.asset.network, asset: chain.asset.address, maxAmountPerPayment: '1000000' }]
      })
    const payload = await official.createPaymentPayload(paymentRequired)

    const before = await chain.balance(requirements.payTo as `0x${string}`)
    const stream = await dialer.dialProtocol(seller.getMultiaddrs(), X402_PROTOCOL)
    const channel = new Channel(stream, { maxBodySize: 1 << 20, frameTimeoutMs: 10_000 })
    await channel.write({
      type: 'PAID_REQUEST',
      correlationId: 'official-client-1',
      request: { resource: 'quote', body: new Uint8Array(), contentType: '', payment: jsonBytes(payload) }
    })
    const response = await channel.read()
    expect(response.type).toBe('RESPONSE')
    if (response.type !== 'RESPONSE') return
    expect(new TextDecoder().decode(response.response.body)).toBe('42')
    expect(await chain.balance(requirements.payTo as `0x${string}`)).toBe(before + PRICE)
  })

  it("our payload passes @x402/core's schema, resource-server matching and @x402/evm's facilitator verifier", async () => {
    const requirements = seller.services.x402Server.requirements('quote')[0]!
    const payload = await signExactPayment(
      chain.devnet.accounts[4]!.account,
      requirements,
      toHex(crypto.getRandomValues(new Uint8Array(32)))
    )

    expect(() => validatePaymentPayload(payload)).not.toThrow()
    const resourceServer = new x402ResourceServer()
    expect(resourceServer.findMatchingRequirements([requirements], payload)).toEqual(requirements)

    // @x402/evm's own facilitator verifier, reading the devnet (it never settles here).
    const wallet = createWalletClient({
      account: chain.devnet.accounts[0]!.account,
      chain: chain.devnet.chain,
      transport: http(chain.devnet.rpcUrl)
    }).extend(publicActions)
    const verifier = new ExactEvmFacilitatorScheme(facilitatorSigner(wallet))
    const verdict = await verifier.verify(payload, requirements)
    expect(verdict).toMatchObject({ isValid: true, payer: chain.devnet.accounts[4]!.address })

    // And the official verifier agrees when we tamper with it.
    const tampered = structuredClone(payload)
    ;(tampered.payload as { authorization: { value: string } }).authorization.value = '1'
    expect((await verifier.verify(tampered, requirements)).isValid).toBe(false)
  })
})
