import { usdcAbi } from '@betar/devnet'
import type { AgentConfig } from '@betar/executor'
import { AgentUnhealthyError, type BetarNode, buyService, createBetarNode, FeedbackQueue, sellAgent } from '@betar/node'
import { ExecutionFailedError, X402Error } from '@betar/x402-libp2p'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { createTestClient, http, parseEther } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, nodeOn, startDevnet } from '../../../packages/node/test/fixtures.ts'
import { createApi, createApiToken, type RunningApi, startApi } from '../src/api/index.ts'
import { type OpenAiStub, startOpenAiStub } from './openai-stub.ts'

const PRICE = 100_000n

/**
 * Issue 10, cases 1–3 on real full nodes and the devnet, each with the money invariant: a seller whose agent is broken
 * at start-up is refused before it lists; one that breaks later refunds the buyer and is delisted once it keeps
 * failing; input the agent's schema refuses is refused before anything is signed; and a buyer that cannot pay gas for
 * feedback still gets (and keeps) its result, with the feedback given later, once.
 */
describe('full node: the buyer is never charged for nothing', () => {
  let devnet: Awaited<ReturnType<typeof startDevnet>>
  let seller: BetarNode
  let buyer: BetarNode
  let llm: OpenAiStub
  /** Case 3's buyer: it holds the feedback file it gave, so it stays up while later tests score the seller. */
  let poor: BetarNode | undefined

  const llmAgent = (baseUrl: string): AgentConfig => ({
    name: 'reverser',
    description: 'Reverses text with an LLM',
    capabilities: ['reverse'],
    price: { amount: PRICE.toString() },
    inputSchema: { type: 'string', maxLength: 64 },
    executor: { kind: 'openai', baseUrl, model: 'stub' }
  })

  beforeAll(async () => {
    devnet = await startDevnet({ accounts: 4 })
    llm = await startOpenAiStub()
    seller = await nodeOn(devnet, 0, { healthCheckIntervalMs: 0 })
    buyer = await nodeOn(devnet, 1, { bootstrap: seller.multiaddrs().map(String) })
  }, 60_000)
  afterAll(async () => {
    await poor?.stop()
    await buyer?.stop()
    await seller?.stop()
    await llm?.stop()
    await devnet?.stop()
  })

  it('case 1: an agent whose LLM endpoint is down, or whose module is missing, is refused before it is listed', async () => {
    const nonce = await seller.clients.publicClient.getTransactionCount({ address: seller.wallet.address })
    const down = await sellAgent(seller, { ...llmAgent('http://127.0.0.1:9/v1'), name: 'down' }).catch((e) => e)
    expect(down).toBeInstanceOf(AgentUnhealthyError)
    expect((down as AgentUnhealthyError).message).toMatch(/agent "down" is not healthy.*127\.0\.0\.1:9\/v1\/models/)
    const missing = await sellAgent(seller, {
      ...llmAgent(llm.baseUrl),
      name: 'missing-module',
      executor: { kind: 'function', module: './no/such/module.mjs' }
    }).catch((e) => e)
    expect(missing).toBeInstanceOf(AgentUnhealthyError)
    expect((missing as AgentUnhealthyError).problem).toMatch(/module\.mjs cannot be loaded/)
    // Nothing was registered on-chain, served or listed.
    expect(await seller.clients.publicClient.getTransactionCount({ address: seller.wallet.address })).toBe(nonce)
    expect(seller.services.x402.resources()).not.toContain('down')
    expect(seller.services.market.find({ capability: 'reverse' })).toEqual([])
  }, 30_000)

  it('case 1: an agent whose endpoint dies after listing: the buyer is refunded on-chain; the agent is delisted, then relisted', async () => {
    await sellAgent(seller, llmAgent(llm.baseUrl))
    const ok = await buyService(buyer, 'reverse', 'hello', { maxPrice: PRICE, feedback: false })
    expect(ok.output).toBe('olleh')

    await llm.stop()
    const before = await buyer.usdcBalance()
    const sellerBefore = await seller.usdcBalance()
    const error = await buyService(buyer, 'reverse', 'again', { maxPrice: PRICE, correlationId: 'llm-down' }).catch(
      (e) => e
    )
    expect(error).toBeInstanceOf(ExecutionFailedError)
    const failed = error as ExecutionFailedError
    expect(failed).toMatchObject({ charged: true, refund: { amount: PRICE, check: 'verified' } })
    expect(failed.message).toMatch(/^paid call failed in the handler \(\w+\); refunded in 0x[0-9a-f]{64}$/)
    expect(failed.message).not.toMatch(/127\.0\.0\.1|fetch|\//)
    // The money invariant: debited = Σ price of results received (none) − refunds.
    expect(await buyer.usdcBalance()).toBe(before)
    expect(await seller.usdcBalance()).toBe(sellerBefore)
    expect(await buyer.journal.get('llm-down')).toMatchObject({ state: 'refunded', refund: { check: 'verified' } })

    // Three failed health checks: delisted, and new calls are refused before payment.
    for (let i = 0; i < 3; i++) await seller.health.checkNow()
    expect(seller.health.status()).toContainEqual(expect.objectContaining({ name: 'reverser', listed: false }))
    expect(seller.services.market.find({ capability: 'reverse' })).toEqual([])
    expect(seller.services.x402.resources()).not.toContain('reverser')

    await llm.restart()
    await seller.health.checkNow()
    expect(seller.health.status()).toContainEqual(expect.objectContaining({ name: 'reverser', listed: true }))
    const back = await buyService(buyer, 'reverse', 'back', { maxPrice: PRICE, feedback: false })
    expect(back.output).toBe('kcab')
  }, 60_000)

  it('case 2: input the agent schema refuses is refused before anything is signed (library and REST)', async () => {
    const before = await buyer.usdcBalance()
    let signed = 0
    const onSigned = () => signed++
    buyer.services.x402Client.addEventListener('payment:signed', onSigned)
    let api: RunningApi | undefined
    try {
      const tooLong = 'x'.repeat(65)
      const error = await buyService(buyer, 'reverse', tooLong, { maxPrice: PRICE, correlationId: 'bad-input' }).catch(
        (e) => e
      )
      expect(error).toBeInstanceOf(X402Error)
      expect(error).toMatchObject({ codeName: 'INVALID_REQUEST' })
      expect((error as X402Error).message).toMatch(/invalid input/)
      expect((await buyer.journal.get('bad-input'))?.payment).toBeUndefined()

      const token = createApiToken()
      api = await startApi(createApi(buyer, { token }))
      const res = await fetch(`${api.url}/calls`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ capability: 'reverse', input: 'y'.repeat(65), maxPriceAtomic: PRICE.toString() })
      })
      expect(res.status).toBe(422)
      expect(await res.json()).toMatchObject({ error: { name: 'InvalidInput', codeName: 'INVALID_REQUEST' } })
      expect(signed).toBe(0)
      expect(await buyer.usdcBalance()).toBe(before)
    } finally {
      buyer.services.x402Client.removeEventListener('payment:signed', onSigned)
      await api?.close()
    }
  }, 30_000)

  it('case 3: a buyer with USDC but no ETH gets its result; the feedback waits for gas and is given once', async () => {
    const account = privateKeyToAccount(generatePrivateKey())
    const funder = devnet.accounts[3]!
    const { walletClient, publicClient } = seller.clients
    const hash = await walletClient.writeContract({
      address: devnet.network.usdc.address,
      abi: usdcAbi,
      functionName: 'transfer',
      args: [account.address, 1_000_000n],
      account: funder.account,
      chain: devnet.chain
    })
    await publicClient.waitForTransactionReceipt({ hash })
    poor = await createBetarNode({
      network: devnet.network,
      rpcUrl: devnet.rpcUrl,
      chain: devnet.chain,
      wallet: account,
      bootstrap: seller.multiaddrs().map(String),
      feedbackRetryIntervalMs: 0
    })
    const token = createApiToken()
    const api = await startApi(createApi(poor, { token }))
    try {
      const res = await fetch(`${api.url}/calls`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          capability: 'reverse',
          input: 'paid',
          maxPriceAtomic: PRICE.toString(),
          correlationId: 'no-eth'
        })
      })
      expect(res.status).toBe(201)
      const view = (await res.json()) as {
        output: unknown
        feedback: { state: string; lastError: string }
        warnings: string[]
      }
      expect(view.output).toBe('diap')
      expect(view.feedback).toMatchObject({
        state: 'pending',
        lastError: expect.stringMatching(/InsufficientGasError/)
      })
      expect(view.warnings.join()).toMatch(/feedback pending/)
      expect(await poor.usdcBalance()).toBe(1_000_000n - PRICE)

      // The result is kept: in the journal, across a lookup by id.
      const stored = await fetch(`${api.url}/calls/no-eth`, { headers: { authorization: `Bearer ${token}` } })
      expect(await stored.json()).toMatchObject({ state: 'done', output: 'diap', charged: true })

      // Gas arrives: the background retry gives the feedback once, and a second retry does nothing more.
      await createTestClient({ mode: 'anvil', chain: devnet.chain, transport: http(devnet.rpcUrl) }).setBalance({
        address: account.address,
        value: parseEther('1')
      })
      await poor.feedback.retryDue()
      expect(await poor.feedback.get('no-eth')).toMatchObject({ state: 'pending', attempts: 1 }) // still backing off
      const given = await poor.feedback.retryNow('no-eth')
      expect(given).toMatchObject({ state: 'given', attempts: 2, result: { feedbackIndex: '1' } })
      expect(await poor.feedback.retryNow('no-eth')).toMatchObject({ state: 'given', result: given!.result })
      const agentId = BigInt(seller.services.market.find({ capability: 'reverse' })[0]!.erc8004!.agentId)
      const summary = await poor.reputation.summary(agentId)
      expect(summary.starred).toMatchObject({ count: 1, paidVolume: PRICE })

      // An attempt whose answer was lost after it sent (state still pending): the next one finds it on-chain.
      const datastore = new MemoryDatastore()
      const { result: _, ...lost } = given!
      await datastore.put(
        new Key('/betar/feedback/no-eth'),
        new TextEncoder().encode(JSON.stringify({ ...lost, state: 'pending', sentAt: Date.now() }))
      )
      const replay = new FeedbackQueue({ datastore, clients: poor.clients, store: poor.feedbackStorage.store })
      expect(await replay.retryNow('no-eth')).toMatchObject({ state: 'given', result: given!.result })
      expect((await poor.reputation.summary(agentId)).starred?.count).toBe(1)
    } finally {
      await api.close()
    }
  }, 60_000)

  it('case 1 (last: it delists the agent): an agent whose completions fail while its endpoint answers /models is delisted after three refunds to two payers', async () => {
    llm.failCompletions(429)
    try {
      const before = await buyer.usdcBalance()
      const other = poor!
      const otherBefore = await other.usdcBalance()
      const fail = async (node: BetarNode, input: string) => {
        const error = await buyService(node, 'reverse', input, { maxPrice: PRICE, feedback: false }).catch((e) => e)
        expect(error).toMatchObject({ name: 'ExecutionFailedError', refund: { check: 'verified' } })
      }
      // One payer alone cannot take the agent off the market, however many calls it makes fail.
      for (let i = 0; i < 3; i++) await fail(buyer, `n${i}`)
      expect(seller.health.status()).toContainEqual(
        expect.objectContaining({ name: 'reverser', listed: true, failedCalls: 3 })
      )
      // A second payer's failure too: the agent is really broken.
      await fail(other, 'n3')
      expect(await buyer.usdcBalance()).toBe(before)
      expect(await other.usdcBalance()).toBe(otherBefore)
      await eventually(() => seller.health.status().some((s) => s.name === 'reverser' && !s.listed), 5_000, 'delisting')
      expect(seller.health.status()).toContainEqual(
        expect.objectContaining({
          name: 'reverser',
          failedCalls: 4,
          problem: '4 paid calls in a row, from 2 payers, failed in the handler'
        })
      )
      // The probe still passes (/models answers), but a delisting for failing calls waits out its cooldown.
      await seller.health.checkNow()
      expect(seller.health.status()).toContainEqual(expect.objectContaining({ name: 'reverser', listed: false }))
      expect(seller.services.market.find({ capability: 'reverse' })).toEqual([])
    } finally {
      llm.failCompletions(undefined)
    }
  }, 90_000)
})
