import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryDatastore } from 'datastore-core'
import type { LocalAccount } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ExecutionFailedError,
  InvalidRequestError,
  InvalidResourceError,
  localSettler,
  X402Error
} from '../../src/index.ts'
import { readAuthorization } from '../../src/settlement/authorization.ts'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { createNode, type X402Node } from '../fixtures/nodes.ts'
import { clientsVia, type FaultySeller, PRICE, startFaultySeller, str, text } from './harness.ts'
import { assertMoneyInvariant, balances, sellerRecords } from './money.ts'
import { freshAccount, transferAway } from './payer-tricks.ts'

const LEAK = '/home/seller/agents/secret.js'

/**
 * Issue 10, cases 1 and 2: a buyer is never charged for a handler that fails or for input the seller refuses. With
 * settlement `before`, a handler failure after settlement (throw, time-out, oversized result) is refunded on-chain and
 * the buyer's own chain reader checks the refund; with `after`, a failing handler is never settled; a request
 * validator refuses bad input before anything is signed. Each scenario asserts the money invariant.
 */
describe('a paid call whose handler fails, or whose input is refused', () => {
  let chain: Chain
  let seller: FaultySeller
  let buyer: X402Node
  let buyerAccount: LocalAccount
  const runs = new Map<string, number>()
  const count = (name: string) => runs.set(name, (runs.get(name) ?? 0) + 1)

  beforeAll(async () => {
    chain = await startChain(6)
    seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, { server: { maxResultSize: 1024 } })
    const server = seller.node.services.x402Server
    server.register('boom', {
      price: { amount: PRICE },
      handler: () => {
        count('boom')
        throw new Error(`ENOENT: no such file ${LEAK}`)
      }
    })
    server.register('slow', {
      price: { amount: PRICE },
      executionTimeoutMs: 200,
      handler: async () => {
        count('slow')
        await new Promise((resolve) => setTimeout(resolve, 2_000))
        return text('too late')
      }
    })
    server.register('huge', {
      price: { amount: PRICE },
      handler: () => {
        count('huge')
        return new Uint8Array(4096)
      }
    })
    server.register('boom-after', {
      price: { amount: PRICE },
      settlement: 'after',
      handler: () => {
        count('boom-after')
        throw new TypeError(`fetch failed: connect ECONNREFUSED 127.0.0.1:9 (${LEAK})`)
      }
    })
    server.register('job-after', {
      price: { amount: PRICE },
      settlement: 'after',
      handler: (req) => {
        count('job-after')
        return text(`after:${str(req.body)}`)
      }
    })
    const validate = (req: { body: Uint8Array }) => {
      let input: unknown
      try {
        input = JSON.parse(str(req.body))
      } catch {
        throw new InvalidRequestError('input is not JSON')
      }
      if (typeof (input as { text?: unknown })?.text !== 'string') {
        throw new InvalidRequestError('input.text must be a string')
      }
    }
    for (const [name, challenge] of [
      ['strict', true],
      ['strict-stateless', false]
    ] as const) {
      server.register(name, {
        price: { amount: PRICE },
        challenge,
        validate,
        handler: (req) => {
          count(name)
          return text(`ok:${str(req.body)}`)
        }
      })
    }
    buyerAccount = await freshAccount(chain, 20n * PRICE, chain.devnet.accounts[5]!.account)
    buyer = await createNode({
      client: {
        signer: buyerAccount,
        asset: chain.asset,
        publicClient: chain.client,
        verifyTimeoutMs: 5_000,
        budget: { limit: 10n * PRICE },
        reaskAttempts: 2,
        reaskDelayMs: 100
      }
    })
  })
  afterAll(async () => {
    await buyer?.stop()
    await seller?.stop()
    await chain?.stop()
  })

  async function callResource(resource: string, correlationId: string, body = 'x') {
    return buyer.services.x402Client
      .call(seller.node.getMultiaddrs(), resource, text(body), {
        correlationId,
        maxAmount: PRICE,
        payTo: seller.address
      })
      .then(
        (result) => ({ result, error: undefined as unknown }),
        (error: unknown) => ({ result: undefined, error })
      )
  }

  it.each([
    ['boom', 'throws (its message names a local path)'],
    ['slow', 'times out'],
    ['huge', 'returns more than the result limit']
  ])(
    'settle-then-run: "%s", a handler that %s, is refunded on-chain; the buyer checks the refund and gets its budget back',
    {
      timeout: 60_000
    },
    async (resource) => {
      const before = await balances(chain, [buyerAccount.address])
      const budget = buyer.services.x402Client.budgetRemaining()
      const payeeBefore = await chain.balance(seller.address)
      const { error } = await callResource(resource, `refund-${resource}`)
      expect(error).toBeInstanceOf(ExecutionFailedError)
      const failed = error as ExecutionFailedError
      expect(failed.charged).toBe(true)
      expect(failed.refund).toMatchObject({ amount: PRICE, check: 'verified' })
      expect(failed.message).not.toContain('/home')
      expect(failed.message).not.toContain('ECONNREFUSED')
      expect(buyer.services.x402Client.budgetRemaining()).toBe(budget)
      expect(await chain.balance(seller.address)).toBe(payeeBefore)
      await assertMoneyInvariant(chain, before, [])
      const record = (await sellerRecords(seller.datastore)).find((r) => r.correlationId === `refund-${resource}`)
      expect(record?.state).toBe('refunded')
      expect(runs.get(resource)).toBe(1)
    }
  )

  it('run-then-settle: a failing handler is never settled; the buyer is told nothing was charged', {
    timeout: 30_000
  }, async () => {
    const before = await balances(chain, [buyerAccount.address])
    const { error } = await callResource('boom-after', 'after-boom')
    expect(error).toBeInstanceOf(ExecutionFailedError)
    expect((error as ExecutionFailedError).charged).toBe(false)
    expect((error as ExecutionFailedError).message).not.toContain('ECONNREFUSED')
    const [record] = (await sellerRecords(seller.datastore)).filter((r) => r.correlationId === 'after-boom')
    expect(record?.state).toBe('failed')
    const authorization = (record!.payment.payload as { authorization: Parameters<typeof readAuthorization>[2] })
      .authorization
    expect((await readAuthorization(chain.client, record!.requirements, authorization)).state).toBe('unused')
    await assertMoneyInvariant(chain, before, [], { datastore: seller.datastore })
  })

  it('run-then-settle: a successful handler is settled once, then its result is returned', {
    timeout: 30_000
  }, async () => {
    const before = await balances(chain, [buyerAccount.address])
    const { result } = await callResource('job-after', 'after-ok', 'hello')
    expect(str(result!.body)).toBe('after:hello')
    expect(result!.settlementCheck).toBe('verified')
    await assertMoneyInvariant(
      chain,
      before,
      [{ buyer: buyerAccount.address, correlationId: 'after-ok', price: PRICE, result: result!, asks: 1 }],
      { datastore: seller.datastore }
    )
  })

  it('invalid input is refused before a challenge is issued: nothing is signed', { timeout: 30_000 }, async () => {
    const before = await balances(chain, [buyerAccount.address])
    let signed = 0
    const onSigned = () => signed++
    buyer.services.x402Client.addEventListener('payment:signed', onSigned)
    try {
      for (const [id, body] of [
        ['bad-json', 'not json'],
        ['bad-shape', '{"text":42}']
      ] as const) {
        const { error } = await callResource('strict', id, body)
        expect(error).toBeInstanceOf(X402Error)
        expect(error).toMatchObject({ codeName: 'INVALID_REQUEST', retryable: false })
      }
      expect((await callResource('strict', 'bad-msg', 'nope')).error).toMatchObject({ message: 'input is not JSON' })
      expect(signed).toBe(0)
      const { result } = await callResource('strict', 'good', '{"text":"hi"}')
      expect(str(result!.body)).toBe('ok:{"text":"hi"}')
      expect(signed).toBe(1)
      expect(runs.get('strict')).toBe(1)
      await assertMoneyInvariant(
        chain,
        before,
        [{ buyer: buyerAccount.address, correlationId: 'good', price: PRICE, result: result!, asks: 1 }],
        { datastore: seller.datastore }
      )
    } finally {
      buyer.services.x402Client.removeEventListener('payment:signed', onSigned)
    }
  })

  it('invalid input paid up front (one trip) is refused before verification: nothing settles', {
    timeout: 30_000
  }, async () => {
    const before = await balances(chain, [buyerAccount.address])
    const requirements = seller.node.services.x402Server.requirements('strict-stateless')[0]!
    const error = await buyer.services.x402Client
      .call(seller.node.getMultiaddrs(), 'strict-stateless', text('{"text":1}'), {
        correlationId: 'one-trip-bad',
        maxAmount: PRICE,
        payTo: seller.address,
        preemptive: requirements
      })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ codeName: 'INVALID_REQUEST' })
    expect((await sellerRecords(seller.datastore)).some((r) => r.correlationId === 'one-trip-bad')).toBe(false)
    expect(runs.get('strict-stateless')).toBeUndefined()
    await assertMoneyInvariant(chain, before, [])
  })

  it.each([
    ['its broadcast answer is lost', { kind: 'lose', how: 'reset' }],
    ['it is dropped from the pool after being accepted', { kind: 'drop' }]
  ] as const)('a refund whose %s is paid exactly once', { timeout: 60_000 }, async (_, action) => {
    const before = await balances(chain, [buyerAccount.address])
    const applied = seller.proxy.faultsApplied()
    // The settlement is the first raw transaction, the refund the second.
    seller.proxy.fault({ method: 'eth_sendRawTransaction', nth: 2, action })
    const refunds: string[] = []
    const onRefunded = (e: CustomEvent<{ transaction?: string }>) => refunds.push(e.detail.transaction!)
    seller.node.services.x402Server.addEventListener('payment:refunded', onRefunded)
    const id = `refund-${action.kind}`
    try {
      let outcome = await callResource('boom', id)
      for (let i = 0; i < 40 && !(outcome.error instanceof ExecutionFailedError); i++) {
        await new Promise((resolve) => setTimeout(resolve, 500))
        outcome = await callResource('boom', id)
      }
      expect(seller.proxy.faultsApplied()).toBe(applied + 1)
      expect(outcome.error).toBeInstanceOf(ExecutionFailedError)
      expect((outcome.error as ExecutionFailedError).refund?.check).toBe('verified')
      expect(refunds).toHaveLength(1)
      await assertMoneyInvariant(chain, before, [], { datastore: seller.datastore })
    } finally {
      seller.node.services.x402Server.removeEventListener('payment:refunded', onRefunded)
      seller.proxy.heal()
    }
  })

  it('a refund the wallet cannot pay yet stays owed across a restart and is paid once funded', {
    timeout: 90_000
  }, async () => {
    // The settling wallet pays gas but holds no USDC, and payments go elsewhere: the refund cannot be paid yet.
    const wallet = await freshAccount(chain, 0n, chain.devnet.accounts[5]!.account)
    const payTo = chain.devnet.accounts[4]!.address
    const datastore = new MemoryDatastore()
    const privateKey = await generateKeyPair('Ed25519')
    const start = async (): Promise<X402Node> => {
      const { publicClient, walletClient } = clientsVia(chain, chain.devnet.rpcUrl, wallet)
      const node = await createNode({
        datastore,
        privateKey,
        server: {
          settler: localSettler({ walletClient, publicClient, payTo }),
          asset: chain.asset,
          confirmationTimeoutMs: 1_000,
          resolveIntervalMs: 200
        }
      })
      node.services.x402Server.register('boom', {
        price: { amount: PRICE },
        handler: () => {
          throw new Error('down')
        }
      })
      return node
    }
    const before = await balances(chain, [buyerAccount.address])
    let node = await start()
    const ask = (n: X402Node) =>
      buyer.services.x402Client
        .call(n.getMultiaddrs(), 'boom', text('x'), { correlationId: 'owed', maxAmount: PRICE, payTo })
        .catch((e: unknown) => e)
    try {
      const pending = await ask(node)
      expect(pending).toMatchObject({ codeName: 'SETTLEMENT_PENDING', details: { reason: 'refund_pending' } })
      // Paid, not yet refunded: the buyer is down one price for now.
      expect(await chain.balance(buyerAccount.address)).toBe(before.get(buyerAccount.address)! - PRICE)
      await node.stop()
      node = await start()
      await transferAway(chain, chain.devnet.accounts[5]!.account, wallet.address, PRICE, false)
      let outcome: unknown = await ask(node)
      for (let i = 0; i < 30 && !(outcome instanceof ExecutionFailedError); i++) {
        await new Promise((resolve) => setTimeout(resolve, 500))
        outcome = await ask(node)
      }
      expect(outcome).toBeInstanceOf(ExecutionFailedError)
      expect((outcome as ExecutionFailedError).refund?.check).toBe('verified')
      await assertMoneyInvariant(chain, before, [], { datastore, settled: true })
    } finally {
      await node.stop()
    }
  })

  it('a payer whose calls keep failing is refused before anything is reserved (refunds cost the seller gas)', {
    timeout: 60_000
  }, async () => {
    const griefed = await startFaultySeller(chain, chain.devnet.accounts[2]!.account, {
      server: { maxFailedCallsPerPayer: 2, failedCallsWindowSeconds: 60 }
    })
    griefed.node.services.x402Server.register('fails', {
      price: { amount: PRICE },
      handler: () => {
        throw new Error('always')
      }
    })
    const before = await balances(chain, [buyerAccount.address])
    const sellerBefore = await chain.balance(griefed.address)
    try {
      const ask = (id: string) =>
        buyer.services.x402Client
          .call(griefed.node.getMultiaddrs(), 'fails', text('x'), {
            correlationId: id,
            maxAmount: PRICE,
            payTo: griefed.address
          })
          .catch((e: unknown) => e)
      expect(await ask('grief-1')).toBeInstanceOf(ExecutionFailedError)
      expect(await ask('grief-2')).toBeInstanceOf(ExecutionFailedError)
      const third = await ask('grief-3')
      expect(third).toMatchObject({ codeName: 'RATE_LIMITED', retryable: true })
      expect(((third as X402Error).details?.retryAfterMs as number) > 1_000).toBe(true)
      const records = await sellerRecords(griefed.datastore)
      expect(records.map((r) => r.state).sort()).toEqual(['refunded', 'refunded'])
      await assertMoneyInvariant(chain, before, [], { datastore: griefed.datastore, settled: true })
      expect(await chain.balance(griefed.address)).toBe(sellerBefore)
    } finally {
      await griefed.stop()
    }
  })

  it('a resource that must settle first needs a refunder', () => {
    const facilitatorLike = { name: 'no-refunds', verify: async () => ({ isValid: false }), settle: async () => ({}) }
    const node = createNode({
      server: {
        settler: facilitatorLike as never,
        asset: chain.asset,
        payTo: privateKeyToAccount(generatePrivateKey()).address
      }
    })
    return node.then(async (n) => {
      try {
        expect(() =>
          n.services.x402Server.register('x', { price: { amount: PRICE }, handler: () => text('') })
        ).toThrow(InvalidResourceError)
        expect(() =>
          n.services.x402Server.register('y', {
            price: { amount: PRICE },
            settlement: 'after',
            handler: () => text('')
          })
        ).not.toThrow()
      } finally {
        await n.stop()
      }
    })
  })
})
