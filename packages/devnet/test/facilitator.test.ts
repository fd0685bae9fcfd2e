import { request } from 'node:http'
import { x402Client } from '@x402/core/client'
import { HTTPFacilitatorClient, x402ResourceServer } from '@x402/core/server'
import type {
  PaymentPayload,
  PaymentRequired,
  PaymentRequirements,
  SettleResponse,
  SupportedResponse,
  VerifyResponse
} from '@x402/core/types'
import { ExactEvmScheme as ExactEvmClientScheme } from '@x402/evm/exact/client'
import { ExactEvmScheme as ExactEvmServerScheme } from '@x402/evm/exact/server'
import {
  type Address,
  createPublicClient,
  createWalletClient,
  erc20Abi,
  type Hash,
  http,
  type LocalAccount,
  type PublicClient
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Devnet,
  deriveFacilitatorAccount,
  FACILITATOR_ROLE_INDEX,
  type FacilitatorServer,
  startDevnet,
  startDevnetFacilitator,
  startFacilitator,
  usdcAbi
} from '../src/index.ts'

const NETWORK = 'eip155:31337'
const PRICE = '10000' // 0.01 USDC

describe('x402 facilitator over loopback HTTP', () => {
  let devnet: Devnet
  let facilitator: FacilitatorServer
  let chain: PublicClient
  let seller: Address

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 3 })
    facilitator = await startDevnetFacilitator(devnet)
    chain = createPublicClient({ chain: devnet.chain, transport: http(devnet.rpcUrl), pollingInterval: 10 })
    seller = devnet.accounts[1]!.address
  })
  afterAll(async () => {
    await facilitator?.stop()
    await devnet?.stop()
  })

  /** The requirements a seller would advertise for `amount` atomic USDC. */
  function requirementsFor(amount = PRICE): PaymentRequirements {
    return {
      scheme: 'exact',
      network: NETWORK,
      amount,
      asset: devnet.contracts.usdc,
      payTo: seller,
      maxTimeoutSeconds: 60,
      extra: { name: devnet.network.usdc.name, version: devnet.network.usdc.version }
    }
  }

  /** An official `x402Client` for `signer`, allowed to pay the devnet USDC. */
  function officialClient(signer: LocalAccount): x402Client {
    return new x402Client().register('eip155:*', new ExactEvmClientScheme(signer)).setSpendControls({
      allowedAssets: [{ network: NETWORK, asset: devnet.contracts.usdc, maxAmountPerPayment: '1000000' }]
    })
  }

  /** Signs a payment with the official client, as a buyer answering a 402. */
  async function pay(
    signer: LocalAccount,
    amount = PRICE
  ): Promise<{ payload: PaymentPayload; requirements: PaymentRequirements }> {
    const requirements = requirementsFor(amount)
    const paymentRequired: PaymentRequired = {
      x402Version: 2,
      resource: { url: 'libp2p://devnet/x402/test', description: 'facilitator test', mimeType: 'application/json' },
      accepts: [requirements]
    }
    const payload = await officialClient(signer).createPaymentPayload(paymentRequired)
    return { payload, requirements }
  }

  async function post<T>(path: string, body: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${facilitator.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body)
    })
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    return { status: res.status, body: (await res.json()) as T }
  }

  const envelope = (payload: PaymentPayload, requirements: PaymentRequirements) => ({
    x402Version: payload.x402Version,
    paymentPayload: payload,
    paymentRequirements: requirements
  })

  const usdcBalance = (address: Address) =>
    chain.readContract({ address: devnet.contracts.usdc, abi: usdcAbi, functionName: 'balanceOf', args: [address] })

  it('binds 127.0.0.1 and uses a dedicated, funded gas payer (role index 1003)', async () => {
    expect(facilitator.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(FACILITATOR_ROLE_INDEX).toBe(1003)
    const role = deriveFacilitatorAccount()
    expect(facilitator.address).toBe(role.address)
    for (const other of [devnet.roles.deployer, devnet.roles.usdcOwner, ...devnet.accounts]) {
      expect(other.address).not.toBe(role.address)
    }
    expect(await chain.getBalance({ address: facilitator.address })).toBeGreaterThan(0n)
  })

  it('GET /supported lists exact on eip155:31337 and the signer; HTTPFacilitatorClient parses it', async () => {
    const res = await fetch(`${facilitator.url}/supported`)
    expect(res.status).toBe(200)
    const supported = (await res.json()) as SupportedResponse
    expect(supported).toEqual({
      kinds: [{ x402Version: 2, scheme: 'exact', network: NETWORK }],
      extensions: [],
      signers: { 'eip155:*': [facilitator.address] }
    })
    const official = await new HTTPFacilitatorClient({ url: facilitator.url }).getSupported()
    expect(official.kinds).toContainEqual({ x402Version: 2, scheme: 'exact', network: NETWORK })
  })

  it('verifies and settles an official x402Client payment: the tx is mined and USDC moves', async () => {
    const buyer = devnet.accounts[0]!
    const { payload, requirements } = await pay(buyer.account)
    const [buyerBefore, sellerBefore] = await Promise.all([usdcBalance(buyer.address), usdcBalance(seller)])

    const verified = await post<VerifyResponse>('/verify', envelope(payload, requirements))
    expect(verified).toEqual({ status: 200, body: { isValid: true, payer: buyer.address } })

    const settled = await post<SettleResponse>('/settle', envelope(payload, requirements))
    expect(settled.status).toBe(200)
    expect(settled.body).toMatchObject({ success: true, payer: buyer.address, network: NETWORK })
    expect(settled.body.transaction).toMatch(/^0x[0-9a-f]{64}$/)

    const receipt = await chain.getTransactionReceipt({ hash: settled.body.transaction as Hash })
    expect(receipt.status).toBe('success')
    expect(receipt.from.toLowerCase()).toBe(facilitator.address.toLowerCase())
    expect(receipt.to?.toLowerCase()).toBe(devnet.contracts.usdc.toLowerCase())
    expect(await usdcBalance(buyer.address)).toBe(buyerBefore - BigInt(PRICE))
    expect(await usdcBalance(seller)).toBe(sellerBefore + BigInt(PRICE))
    const nonce = (payload.payload.authorization as { nonce: Hash }).nonce
    expect(
      await chain.readContract({
        address: devnet.contracts.usdc,
        abi: usdcAbi,
        functionName: 'authorizationState',
        args: [buyer.address, nonce]
      })
    ).toBe(true)
  })

  it('replaying a settled payment fails with invalid_exact_evm_nonce_already_used (200, no tx)', async () => {
    const buyer = devnet.accounts[2]!
    const { payload, requirements } = await pay(buyer.account)
    const first = await post<SettleResponse>('/settle', envelope(payload, requirements))
    expect(first.body.success).toBe(true)
    const balance = await usdcBalance(buyer.address)

    const replay = await post<SettleResponse>('/settle', envelope(payload, requirements))
    expect(replay.status).toBe(200)
    expect(replay.body).toMatchObject({
      success: false,
      errorReason: 'invalid_exact_evm_nonce_already_used',
      transaction: '',
      network: NETWORK,
      payer: buyer.address
    })
    const reverify = await post<VerifyResponse>('/verify', envelope(payload, requirements))
    expect(reverify.body).toMatchObject({ isValid: false, invalidReason: 'invalid_exact_evm_nonce_already_used' })
    expect(await usdcBalance(buyer.address)).toBe(balance)
  })

  it('speaks to the official HTTPFacilitatorClient and x402ResourceServer', async () => {
    const buyer = devnet.accounts[0]!
    const client = new HTTPFacilitatorClient({ url: facilitator.url })
    const server = new x402ResourceServer(client).register(NETWORK, new ExactEvmServerScheme())
    await server.initialize()
    const accepts = await server.buildPaymentRequirements({
      scheme: 'exact',
      network: NETWORK,
      payTo: seller,
      price: { amount: PRICE, asset: devnet.contracts.usdc, extra: { name: 'USD Coin', version: '2' } },
      maxTimeoutSeconds: 60
    })
    const paymentRequired = await server.createPaymentRequiredResponse(accepts, { url: 'libp2p://devnet/x402/rs' })
    const payload = await officialClient(buyer.account).createPaymentPayload(paymentRequired)
    const requirements = server.findMatchingRequirements(accepts, payload)
    expect(requirements).toBeDefined()
    if (requirements == null) return

    const direct = await client.verify(payload, requirements)
    expect(direct).toMatchObject({ isValid: true, payer: buyer.address })
    const verified = await server.verifyPayment(payload, requirements)
    expect(verified).toMatchObject({ isValid: true, payer: buyer.address })
    const settled = await server.settlePayment(payload, requirements)
    expect(settled).toMatchObject({ success: true, network: NETWORK, payer: buyer.address })
    const receipt = await chain.getTransactionReceipt({ hash: settled.transaction as Hash })
    expect(receipt.status).toBe('success')

    const again = await client.settle(payload, requirements)
    expect(again).toMatchObject({ success: false, errorReason: 'invalid_exact_evm_nonce_already_used' })
  })

  it('refuses tampered payments with the official reasons and settles nothing', async () => {
    const buyer = devnet.accounts[0]!
    const { payload, requirements } = await pay(buyer.account)
    const balance = await usdcBalance(buyer.address)

    // The seller's requirements ask for more than the buyer signed.
    const pricier = { ...requirements, amount: '20000' }
    const mismatch = await post<VerifyResponse>('/verify', envelope(payload, pricier))
    expect(mismatch).toEqual({
      status: 200,
      body: {
        isValid: false,
        invalidReason: 'invalid_exact_evm_payload_authorization_value_mismatch',
        payer: buyer.address
      }
    })

    // The signed authorization itself was edited: the signature no longer matches.
    const authorization = payload.payload.authorization as Record<string, unknown>
    const forged: PaymentPayload = {
      ...payload,
      accepted: pricier,
      payload: { ...payload.payload, authorization: { ...authorization, value: '20000' } }
    }
    const badSignature = await post<VerifyResponse>('/verify', envelope(forged, pricier))
    expect(badSignature.status).toBe(200)
    expect(badSignature.body).toMatchObject({ isValid: false, invalidReason: 'invalid_exact_evm_signature' })

    const settled = await post<SettleResponse>('/settle', envelope(forged, pricier))
    expect(settled).toEqual({
      status: 200,
      body: {
        success: false,
        errorReason: 'invalid_exact_evm_signature',
        transaction: '',
        network: NETWORK,
        payer: buyer.address
      }
    })
    expect(await usdcBalance(buyer.address)).toBe(balance)
  })

  it('answers unsupported version, scheme and network with 200 and the spec reason codes', async () => {
    const { payload, requirements } = await pay(devnet.accounts[0]!.account)
    const v1 = { ...payload, x402Version: 1 }
    expect(await post('/verify', { paymentPayload: v1, paymentRequirements: requirements })).toMatchObject({
      status: 200,
      body: { isValid: false, invalidReason: 'invalid_x402_version' }
    })
    const upto = { ...requirements, scheme: 'upto' }
    expect(await post('/verify', envelope({ ...payload, accepted: upto }, upto))).toMatchObject({
      status: 200,
      body: { isValid: false, invalidReason: 'unsupported_scheme' }
    })
    const base = { ...requirements, network: 'eip155:8453' as const }
    expect(await post('/settle', envelope({ ...payload, accepted: base }, base))).toMatchObject({
      status: 200,
      body: { success: false, errorReason: 'invalid_network', transaction: '', network: 'eip155:8453' }
    })
  })

  it('answers malformed requests with 400 in the endpoint response shape', async () => {
    const { payload, requirements } = await pay(devnet.accounts[0]!.account)
    expect(await post('/verify', '{"x402Version": 2, ')).toMatchObject({
      status: 400,
      body: { isValid: false, invalidReason: 'invalid_payload' }
    })
    expect(await post('/settle', 'null')).toMatchObject({
      status: 400,
      body: { success: false, errorReason: 'invalid_payload', transaction: '' }
    })
    expect(await post('/verify', { paymentPayload: payload })).toMatchObject({
      status: 400,
      body: { isValid: false, invalidReason: 'invalid_payment_requirements' }
    })
    const { payTo: _, ...noPayTo } = requirements
    expect(await post('/verify', envelope(payload, noPayTo as PaymentRequirements))).toMatchObject({
      status: 400,
      body: {
        isValid: false,
        invalidReason: 'invalid_payment_requirements',
        invalidMessage: expect.stringContaining('payTo')
      }
    })
    const { accepted: __, ...noAccepted } = payload
    expect(await post('/verify', envelope(noAccepted as PaymentPayload, requirements))).toMatchObject({
      status: 400,
      body: { isValid: false, invalidReason: 'invalid_payload', invalidMessage: expect.stringContaining('accepted') }
    })
    expect(await post('/verify', { ...envelope(payload, requirements), x402Version: 1 })).toMatchObject({
      status: 400,
      body: { isValid: false, invalidReason: 'invalid_x402_version' }
    })
    // The official client turns a 400 with a VerifyResponse body into a typed VerifyError.
    const client = new HTTPFacilitatorClient({ url: facilitator.url })
    await expect(client.verify(payload, noPayTo as PaymentRequirements)).rejects.toMatchObject({
      name: 'VerifyError',
      statusCode: 400,
      invalidReason: 'invalid_payment_requirements'
    })
  })

  it('answers 413 to bodies over 64 KiB, declared or streamed, and keeps serving', async () => {
    const big = JSON.stringify({ padding: 'x'.repeat(100 * 1024) })
    expect(await post('/verify', big)).toMatchObject({
      status: 413,
      body: { isValid: false, invalidReason: 'invalid_payload' }
    })
    const streamed = await rawRequest(facilitator.url, 'POST', '/settle', (req) => {
      // No Content-Length: chunked, so the limit is enforced while counting.
      for (let i = 0; i < 20; i++) req.write('x'.repeat(8 * 1024))
      req.end()
    })
    expect(streamed.status).toBe(413)
    expect(JSON.parse(streamed.body)).toMatchObject({ success: false, errorReason: 'invalid_payload', transaction: '' })
    expect((await fetch(`${facilitator.url}/supported`)).status).toBe(200)
  })

  it('answers 404 to unknown paths and 405 (with Allow) to wrong methods', async () => {
    const missing = await fetch(`${facilitator.url}/nope`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ error: 'not_found' })
    expect((await fetch(`${facilitator.url}/verify/extra`, { method: 'POST', body: '{}' })).status).toBe(404)

    const getVerify = await fetch(`${facilitator.url}/verify`)
    expect(getVerify.status).toBe(405)
    expect(getVerify.headers.get('allow')).toBe('POST')
    expect(await getVerify.json()).toMatchObject({ error: 'method_not_allowed' })
    const postSupported = await fetch(`${facilitator.url}/supported`, { method: 'POST', body: '{}' })
    expect(postSupported.status).toBe(405)
    expect(postSupported.headers.get('allow')).toBe('GET, HEAD')
    expect((await fetch(`${facilitator.url}/settle`, { method: 'PUT', body: '{}' })).status).toBe(405)
    expect((await fetch(`${facilitator.url}/supported?x=1`)).status).toBe(200)
  })

  it('settles 5 payers concurrently from one gas payer (nonce manager): every tx is mined', async () => {
    const payers = Array.from({ length: 5 }, () => privateKeyToAccount(generatePrivateKey()))
    const funder = createWalletClient({
      account: devnet.accounts[2]!.account,
      chain: devnet.chain,
      transport: http(devnet.rpcUrl),
      pollingInterval: 10
    })
    for (const payer of payers) {
      const hash = await funder.writeContract({
        address: devnet.contracts.usdc,
        abi: erc20Abi,
        functionName: 'transfer',
        args: [payer.address, 1_000_000n]
      })
      await chain.waitForTransactionReceipt({ hash, pollingInterval: 10 })
    }
    const payments = await Promise.all(payers.map((payer) => pay(payer)))
    const sellerBefore = await usdcBalance(seller)
    const gasNonceBefore = await chain.getTransactionCount({ address: facilitator.address })

    const timed = await Promise.all(
      payments.map(async ({ payload, requirements }) => {
        const start = performance.now()
        const res = await post<SettleResponse>('/settle', envelope(payload, requirements))
        return { ...res, ms: performance.now() - start }
      })
    )
    for (const [i, res] of timed.entries()) {
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ success: true, payer: payers[i]!.address })
    }
    const hashes = timed.map((r) => r.body.transaction as Hash)
    expect(new Set(hashes).size).toBe(5)
    for (const hash of hashes) expect((await chain.getTransactionReceipt({ hash })).status).toBe('success')
    for (const payer of payers) expect(await usdcBalance(payer.address)).toBe(1_000_000n - BigInt(PRICE))
    expect(await usdcBalance(seller)).toBe(sellerBefore + 5n * BigInt(PRICE))
    expect(await chain.getTransactionCount({ address: facilitator.address })).toBe(gasNonceBefore + 5)

    const ms = timed.map((r) => r.ms).sort((a, b) => a - b)
    console.log(`concurrent /settle x5: median ${ms[2]!.toFixed(1)} ms, max ${ms[4]!.toFixed(1)} ms`)
  })

  it('stop() is idempotent and frees the port; an abort signal stops it too', async () => {
    const account = privateKeyToAccount(generatePrivateKey())
    const standalone = await startFacilitator({ rpcUrl: devnet.rpcUrl, chain: devnet.chain, account })
    expect((await fetch(`${standalone.url}/supported`)).status).toBe(200)
    // A client stuck mid-upload must not hold stop() up.
    let stalled: ReturnType<typeof request> | undefined
    const hanging = rawRequest(standalone.url, 'POST', '/verify', (req) => {
      stalled = req
      req.write('{"x402Version": 2, ')
    })
    hanging.catch(() => {})
    await new Promise((resolve) => setTimeout(resolve, 50))
    const started = performance.now()
    await Promise.all([standalone.stop(), standalone.stop()])
    expect(performance.now() - started).toBeLessThan(1000)
    await expect(hanging).rejects.toThrow()
    stalled?.destroy()
    await expect(fetch(`${standalone.url}/supported`)).rejects.toThrow()

    const controller = new AbortController()
    const aborted = await startFacilitator({
      rpcUrl: devnet.rpcUrl,
      chain: devnet.chain,
      account,
      signal: controller.signal
    })
    controller.abort()
    await aborted.stop()
    await expect(fetch(`${aborted.url}/supported`)).rejects.toThrow()

    await expect(
      startFacilitator({ rpcUrl: devnet.rpcUrl, chain: devnet.chain, account, signal: AbortSignal.abort() })
    ).rejects.toThrow()
    await expect(
      startFacilitator({ rpcUrl: devnet.rpcUrl, chain: devnet.chain, account, networks: ['solana:x' as `eip155:1`] })
    ).rejects.toThrow(RangeError)
  })
})

/** A request with full control over the body stream (e.g. chunked, no Content-Length). */
function rawRequest(
  base: string,
  method: string,
  path: string,
  write: (req: ReturnType<typeof request>) => void
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers: { 'content-type': 'application/json' } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    write(req)
  })
}
