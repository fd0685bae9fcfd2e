import type { Devnet } from '@betar/devnet'
import { analyzeText } from '@betar/executor'
import { type BetarNode, createBetarNode, type SoldAgent, sellAgent } from '@betar/node'
import { parseEther } from 'viem'
import { generatePrivateKey, privateKeyToAccount, privateKeyToAddress } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nodeOn, startDevnet, textStatsAgent } from '../../../packages/node/test/fixtures.ts'
import { type CallView, createApi, createApiToken, type RunningApi, startApi } from '../src/api/index.ts'

const TEXT = 'Prices are decimal USDC. Errors are typed.'
type ErrorBody = { error: { name: string; message: string; [k: string]: unknown } }

/** Issue 11 (5): typed REST errors, one price unit, the JSON content type, no-peer hints and the devnet faucet. */
describe('REST API faults on real nodes (devnet)', () => {
  let devnet: Devnet
  let seller: BetarNode
  let buyer: BetarNode
  /** A new wallet: no USDC, no ETH. */
  let broke: BetarNode
  /** A node with no connection at all. */
  let lone: BetarNode
  /** A node whose network is not the devnet (a public network's name on the devnet chain). */
  let publicNet: BetarNode
  /** A node whose chain RPC is down. */
  let offline: BetarNode
  let sold: SoldAgent
  const apis: Record<string, RunningApi> = {}
  const token = createApiToken()

  const request = (who: string, path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers)
    headers.set('authorization', `Bearer ${token}`)
    return fetch(`${apis[who]?.url}${path}`, { ...init, headers })
  }
  const post = (who: string, path: string, body: unknown, type = 'application/json') =>
    request(who, path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': type } })

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 2 })
    seller = await nodeOn(devnet, 0)
    buyer = await nodeOn(devnet, 1, { bootstrap: seller.multiaddrs().map(String) })
    const base = { network: devnet.network, rpcUrl: devnet.rpcUrl, chain: devnet.chain }
    broke = await createBetarNode({
      ...base,
      wallet: privateKeyToAccount(generatePrivateKey()),
      bootstrap: seller.multiaddrs().map(String)
    })
    lone = await createBetarNode({ ...base, wallet: privateKeyToAccount(generatePrivateKey()) })
    publicNet = await createBetarNode({
      ...base,
      network: { ...devnet.network, name: 'base-sepolia' },
      wallet: privateKeyToAccount(generatePrivateKey())
    })
    const deadRpc = 'http://127.0.0.1:9'
    offline = await createBetarNode({
      ...base,
      rpcUrl: deadRpc,
      network: { ...devnet.network, rpcUrl: deadRpc },
      wallet: privateKeyToAccount(generatePrivateKey())
    })
    sold = await sellAgent(seller, textStatsAgent)
    for (const [name, node] of Object.entries({ buyer, broke, lone, publicNet, offline })) {
      apis[name] = await startApi(createApi(node, { token }))
    }
  }, 90_000)

  afterAll(async () => {
    for (const api of Object.values(apis)) await api.close()
    for (const node of [offline, publicNet, lone, broke, buyer, seller]) await node?.stop()
    await devnet?.stop()
  })

  it('GET /reputation/999 (no such agent) is a typed 404, not a 500 with a viem message', async () => {
    const res = await request('buyer', '/reputation/999')
    expect(res.status).toBe(404)
    const body = (await res.json()) as ErrorBody
    expect(body).toEqual({
      error: { name: 'AgentNotFound', message: 'no agent has this id on the Identity Registry' }
    })
    const known = await request('buyer', `/reputation/${sold.registration.agentId}`)
    expect(known.status).toBe(200)
  })

  it('chain failures are typed 502s that name no RPC URL and carry no library text', async () => {
    for (const path of ['/wallet', '/reputation/1']) {
      const res = await request('offline', path)
      expect(res.status, path).toBe(502)
      const body = (await res.json()) as ErrorBody
      expect(body.error.name, path).toBe('ChainUnavailable')
      expect(JSON.stringify(body), path).not.toMatch(/127\.0\.0\.1|viem|HTTP request failed|Details|at /)
    }
  })

  it('an empty wallet gets a 402 InsufficientFundsError naming the faucet, and nothing is signed', async () => {
    const res = await post('broke', '/calls', {
      capability: 'text-analysis',
      input: TEXT,
      maxPrice: '0.5',
      correlationId: 'broke-1'
    })
    expect(res.status).toBe(402)
    const body = (await res.json()) as ErrorBody
    expect(body.error).toMatchObject({
      name: 'InsufficientFundsError',
      address: broke.wallet.address,
      balanceAtomic: '0',
      requiredAtomic: '250000',
      correlationId: 'broke-1'
    })
    expect(body.error.message).toBe(
      `insufficient USDC: wallet ${broke.wallet.address} holds 0 USDC, the job costs 0.25 USDC; fund the wallet ` +
        '(on the devnet: POST /faucet or `betar-devnet fund <address>`)'
    )
    expect(await broke.journal.get('broke-1')).toBeUndefined()
  }, 30_000)

  it('POST /faucet funds the node wallet on the devnet (100 USDC, 1 ETH by default), then it can buy', async () => {
    const res = await post('broke', '/faucet', {})
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      address: broke.wallet.address,
      usdc: { added: '100', balance: '100', addedAtomic: '100000000', balanceAtomic: '100000000' },
      eth: { added: '1', balance: '1', addedWei: parseEther('1').toString() }
    })
    expect(await broke.usdcBalance()).toBe(100_000_000n)
    expect(await broke.clients.publicClient.getBalance({ address: broke.wallet.address })).toBe(parseEther('1'))

    const other = privateKeyToAddress(generatePrivateKey())
    const funded = await post('broke', '/faucet', { address: other, usdc: '2.5', eth: '0.125' })
    expect(funded.status).toBe(200)
    expect(await funded.json()).toMatchObject({ address: other, usdc: { balance: '2.5' }, eth: { balance: '0.125' } })
    expect(await broke.usdcBalance(other)).toBe(2_500_000n)

    const bought = await post('broke', '/calls', { capability: 'text-analysis', input: TEXT, maxPrice: '0.5' })
    expect(bought.status).toBe(201)
    expect(await bought.json()).toMatchObject({ state: 'done', output: analyzeText(TEXT), amountUsdc: '0.25' })
  }, 60_000)

  it('POST /faucet refuses out-of-bounds or malformed amounts with 400, and any network but the devnet with 403', async () => {
    for (const body of [
      { usdc: '1000000.000001' },
      { eth: '1000.1' },
      { usdc: 5 },
      { eth: '-1' },
      { usdc: '1.0000001' },
      { address: '0x1234' },
      { extra: true }
    ]) {
      const res = await post('broke', '/faucet', body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(((await res.json()) as ErrorBody).error.name).toBe('ValidationError')
    }
    const before = await publicNet.usdcBalance()
    const res = await post('publicNet', '/faucet', {})
    expect(res.status).toBe(403)
    expect(await res.json()).toEqual({
      error: {
        name: 'FaucetUnavailable',
        message: 'the faucet exists only on the devnet; this node runs on base-sepolia: fund the wallet with real USDC'
      }
    })
    expect(await publicNet.usdcBalance()).toBe(before)
  })

  it('with no connected peer, discovery says so and how to fix it (--bootstrap or --mdns)', async () => {
    const discovered = await post('lone', '/discover', { capability: 'text-analysis' })
    expect(discovered.status).toBe(200)
    const body = (await discovered.json()) as { listings: unknown[]; connectedPeers: number; warnings: string[] }
    expect(body.listings).toEqual([])
    expect(body.connectedPeers).toBe(0)
    expect(body.warnings).toHaveLength(1)
    expect(body.warnings[0]).toContain('connected to no peers')
    expect(body.warnings[0]).toContain('--bootstrap <multiaddr>')
    expect(body.warnings[0]).toContain('--mdns')

    const call = await post('lone', '/calls', { capability: 'text-analysis', input: TEXT, maxPrice: '1' })
    expect(call.status).toBe(404)
    const error = ((await call.json()) as ErrorBody).error
    expect(error).toMatchObject({ name: 'NoSellerError', connectedPeers: 0 })
    expect(error.message).toMatch(
      /^no seller offers "text-analysis" for at most 1 USDC: this node is connected to no peers/
    )
    expect(error.message).toContain('--bootstrap <multiaddr>')

    const connected = await post('buyer', '/calls', { capability: 'nothing-sells-this', input: TEXT, maxPrice: '1' })
    expect(connected.status).toBe(404)
    const known = ((await connected.json()) as ErrorBody).error
    expect(known.connectedPeers).toBeGreaterThan(0)
    expect(known.message).toBe('no seller offers "nothing-sells-this" for at most 1 USDC')
  }, 30_000)

  it('prices are decimal USDC in and out (maxPrice "0.25"), atomic units only as …Atomic', async () => {
    const find = async (query: string) => {
      const res = await request('buyer', `/listings?${query}`)
      expect(res.status, query).toBe(200)
      return ((await res.json()) as { listings: Array<{ id: string; priceUsdc: string; price: { amount: string } }> })
        .listings
    }
    expect(await find('capability=text-analysis&maxPrice=0.25')).toEqual([
      expect.objectContaining({
        id: 'text-stats',
        priceUsdc: '0.25',
        price: expect.objectContaining({ amount: '250000' })
      })
    ])
    expect(await find('capability=text-analysis&maxPrice=0.249999')).toEqual([])
    expect(await find('capability=text-analysis&maxPriceAtomic=250000')).toHaveLength(1)
    expect(await find('capability=text-analysis&maxPriceAtomic=249999')).toEqual([])
    expect((await request('buyer', '/listings?maxPrice=0.25&maxPriceAtomic=250000')).status).toBe(400)

    const byDecimal = await post('buyer', '/calls', { capability: 'text-analysis', input: TEXT, maxPrice: '0.25' })
    expect(byDecimal.status).toBe(201)
    const view = (await byDecimal.json()) as CallView
    expect(view).toMatchObject({ amountUsdc: '0.25', amountAtomic: '250000', amount: '250000' })

    const byAtomic = await post('buyer', '/calls', {
      capability: 'text-analysis',
      input: TEXT,
      maxPriceAtomic: '250000'
    })
    expect(byAtomic.status).toBe(201)
    expect(await byAtomic.json()).toMatchObject({ amountUsdc: '0.25', amountAtomic: '250000' })

    const tooLow = await post('buyer', '/calls', { capability: 'text-analysis', input: TEXT, maxPrice: '0.2' })
    expect(tooLow.status).toBe(404)
    expect(((await tooLow.json()) as ErrorBody).error.message).toBe(
      'no seller offers "text-analysis" for at most 0.2 USDC'
    )

    const wallet = (await (await request('buyer', '/wallet')).json()) as {
      usdc: { balance: string; balanceUsdc: string }
    }
    expect(wallet.usdc.balanceUsdc).toBe((Number(wallet.usdc.balance) / 1e6).toString())

    for (const body of [
      { capability: 'text-analysis', input: TEXT, maxPrice: 250000 },
      { capability: 'text-analysis', input: TEXT, maxPrice: '0.1234567' },
      { capability: 'text-analysis', input: TEXT, maxPrice: '0.25', maxPriceAtomic: '250000' },
      { capability: 'text-analysis', input: TEXT }
    ]) {
      const res = await post('buyer', '/calls', body)
      expect(res.status, JSON.stringify(body)).toBe(400)
    }
    const number = await post('buyer', '/calls', { capability: 'text-analysis', input: TEXT, maxPrice: 250000 })
    expect(((await number.json()) as ErrorBody).error.message).toContain('decimal USDC as a string')
  }, 90_000)

  it('refuses a non-JSON Content-Type with 415 before anything is paid, on every JSON route', async () => {
    const before = await buyer.usdcBalance()
    const calls = async () => ((await (await request('buyer', '/calls')).json()) as { calls: unknown[] }).calls.length
    const count = await calls()
    const body = { capability: 'text-analysis', input: TEXT, maxPrice: '0.25', correlationId: 'plain-text' }
    for (const type of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data'
    ]) {
      const res = await post('buyer', '/calls', body, type)
      expect(res.status, type).toBe(415)
      expect(((await res.json()) as ErrorBody).error.name).toBe('UnsupportedMediaType')
    }
    const untyped = await request('buyer', '/calls', { method: 'POST', body: new Blob([JSON.stringify(body)]) })
    expect(untyped.status).toBe(415)
    for (const path of ['/discover', '/faucet']) {
      expect((await post('buyer', path, { capability: 'text-analysis' }, 'text/plain')).status, path).toBe(415)
    }
    expect(await buyer.usdcBalance()).toBe(before)
    expect(await calls()).toBe(count)
    expect(await buyer.journal.get('plain-text')).toBeUndefined()

    const charset = await post('buyer', '/discover', { capability: 'text-analysis' }, 'application/json; charset=utf-8')
    expect(charset.status).toBe(200)
  }, 30_000)
})
