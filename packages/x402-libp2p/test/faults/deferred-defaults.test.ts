import { usdcAbi } from '@betar/devnet'
import type { Datastore, Key } from 'interface-datastore'
import { createTestClient, createWalletClient, encodeFunctionData, type Hash, type Hex, http, parseGwei } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { X402Error } from '../../src/index.ts'
import type { AuthorizationRef } from '../../src/settlement/authorization.ts'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { copyOf, dies, HookedDatastore } from './datastores.ts'
import { connect, type FaultySeller, PRICE, startBuyers, startFaultySeller, text } from './harness.ts'
import { assertDeferredExposure, assertMoneyInvariant, sellerRecords } from './money.ts'
import { cancelAuthorization, freshAccount, inPool } from './payer-tricks.ts'

/**
 * A payer's default and its deferred credit (issue 14 review): the default a failed deferred settlement proves is
 * written in the same datastore batch as the call's terminal record, before the call's credit is released — no call is
 * served on the credit the failure frees, and no crash keeps one without the other; a pending entry whose call is
 * already terminal is reconciled at restart; clearing a default settles the failures that caused it.
 */
const LIMIT = 2n * PRICE

describe('deferred settlement: defaults and credit', () => {
  let chain: Chain

  beforeAll(async () => {
    chain = await startChain(5)
  })
  afterAll(async () => {
    await createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })
      .setAutomine(true)
      .catch(() => {})
    await chain?.stop()
  })

  async function deferredSeller(
    datastore: Datastore,
    options: { credit?: bigint; lingerMs?: number; throttleMs?: number } = {}
  ): Promise<FaultySeller> {
    const linger = options.lingerMs ?? 1_000
    const seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
      settler: {
        batch: { minLingerMs: linger, maxLingerMs: Math.max(linger, 20) },
        ...(options.throttleMs != null ? { payerThrottleMs: options.throttleMs } : {})
      },
      server: { deferredCreditLimit: options.credit ?? LIMIT, resolveIntervalMs: 200 },
      datastore
    })
    seller.node.services.x402Server.register('micro', {
      price: { amount: PRICE },
      settlement: 'deferred',
      handler: (req) => req.body
    })
    return seller
  }

  /** One deferred call; its outcome as `served` or `CODE:reason`. */
  const caller =
    (buyer: Awaited<ReturnType<typeof startBuyers>>[number], seller: () => FaultySeller) =>
    (id: string): Promise<string> =>
      buyer.node.services.x402Client
        .call(seller().node.getMultiaddrs(), 'micro', text(id), {
          maxAmount: PRICE,
          payTo: seller().address,
          correlationId: id
        })
        .then(
          () => 'served',
          (err: unknown) => (err instanceof X402Error ? `${err.codeName}:${String(err.details?.reason)}` : String(err))
        )

  const nonceOf = async (datastore: Datastore, id: string): Promise<Hex> => {
    const r = (await sellerRecords(datastore)).find((x) => x.correlationId === id)!
    return (r.payment.payload as { authorization: AuthorizationRef }).authorization.nonce
  }

  const stateOf = async (datastore: Datastore, id: string) =>
    (await sellerRecords(datastore)).find((r) => r.correlationId === id)?.state

  const pendingKeys = async (datastore: Datastore): Promise<Key[]> => {
    const keys: Key[] = []
    for await (const k of datastore.queryKeys({ prefix: '/betar/x402/pending' })) keys.push(k)
    return keys
  }

  const until = async (check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('timed out')
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  it('a payer whose deferred calls are proven void is in default before their credit is released (a slow disk between)', {
    timeout: 60_000
  }, async () => {
    const datastore = new HookedDatastore()
    // Removing a pending entry takes a while: without the default counted first, that is a window for free calls.
    datastore.onDelete = async (key) => {
      if (key.toString().startsWith('/betar/x402/pending/')) await new Promise((resolve) => setTimeout(resolve, 1_500))
    }
    const seller = await deferredSeller(datastore)
    const payer = await freshAccount(chain, 10n * PRICE, chain.devnet.accounts[1]!.account)
    const [buyer] = await startBuyers(chain, [payer], { reaskAttempts: 0 })
    await connect([buyer!], seller)
    const call = caller(buyer!, () => seller)
    try {
      // The credit is used up by two answered calls; the payer cancels both before the batch is simulated.
      expect(await Promise.all([call('w-0'), call('w-1')])).toEqual(['served', 'served'])
      for (const id of ['w-0', 'w-1']) await cancelAuthorization(chain, payer, await nonceOf(datastore, id))
      expect(await call('w-over')).toBe('RATE_LIMITED:credit_limit')
      // The moment their records say void (the pending entries are still being removed), the payer asks again.
      await until(
        async () => (await stateOf(datastore, 'w-0')) === 'void' || (await stateOf(datastore, 'w-1')) === 'void'
      )
      expect(await Promise.all([call('w-2'), call('w-3')])).toEqual([
        'PAYMENT_INVALID:payer_in_default',
        'PAYMENT_INVALID:payer_in_default'
      ])
      await until(async () => (await pendingKeys(datastore)).length === 0)
      expect(await assertDeferredExposure(chain, datastore, payer.address, LIMIT)).toEqual({
        paid: 0n,
        unpaidDelivered: LIMIT
      })
      await assertMoneyInvariant(chain, new Map(), [], { datastore, settled: true })
    } finally {
      await buyer!.node.stop()
      await seller.stop()
    }
  })

  it('a seller killed between the void record and the removal of its pending entry keeps the default, frees the credit', {
    timeout: 60_000
  }, async () => {
    const datastore = new HookedDatastore()
    let seller = await deferredSeller(datastore)
    const payer = await freshAccount(chain, 10n * PRICE, chain.devnet.accounts[2]!.account)
    const [buyer] = await startBuyers(chain, [payer], { reaskAttempts: 0 })
    await connect([buyer!], seller)
    const call = caller(buyer!, () => seller)
    try {
      expect(await Promise.all([call('k-0'), call('k-1')])).toEqual(['served', 'served'])
      // The process dies while it removes a pending entry: whatever was written with the void record is on disk.
      datastore.onDelete = async (key) => {
        if (key.toString().startsWith('/betar/x402/pending/')) await dies()
      }
      for (const id of ['k-0', 'k-1']) await cancelAuthorization(chain, payer, await nonceOf(datastore, id))
      await until(
        async () => (await stateOf(datastore, 'k-0')) === 'void' && (await stateOf(datastore, 'k-1')) === 'void'
      )
      await seller.stop() // kill -9 here; restart on what reached the disk
      const disk = await copyOf(datastore)
      expect(await pendingKeys(disk)).toHaveLength(2)
      seller = await deferredSeller(disk)
      await connect([buyer!], seller)
      // The default was written with the void records; the entries left over are reconciled before serving.
      expect(seller.node.services.x402Server.stats().pendingCalls).toBe(0)
      expect(await pendingKeys(disk)).toHaveLength(0)
      expect(await call('k-2')).toBe('PAYMENT_INVALID:payer_in_default')
      await assertDeferredExposure(chain, disk, payer.address, LIMIT)
      await assertMoneyInvariant(chain, new Map(), [], { datastore: disk, settled: true })
    } finally {
      await buyer!.node.stop()
      await seller.stop()
    }
  })

  it('a seller killed between storing `done` and removing the pending entry frees the credit on restart', {
    timeout: 60_000
  }, async () => {
    const datastore = new HookedDatastore()
    datastore.onDelete = async (key) => {
      if (key.toString().startsWith('/betar/x402/pending/')) await dies()
    }
    let seller = await deferredSeller(datastore, { lingerMs: 5 })
    const payer = await freshAccount(chain, 10n * PRICE, chain.devnet.accounts[3]!.account)
    const before = await chain.balance(payer.address)
    const [buyer] = await startBuyers(chain, [payer], { reaskAttempts: 0 })
    await connect([buyer!], seller)
    const call = caller(buyer!, () => seller)
    try {
      expect(await call('p-0')).toBe('served')
      await until(async () => (await stateOf(datastore, 'p-0')) === 'done')
      await seller.stop() // kill -9 here
      const disk = await copyOf(datastore)
      seller = await deferredSeller(disk, { lingerMs: 5 })
      await connect([buyer!], seller)
      // p-0 is paid and done: nothing is owed, nothing is pending; the full credit is available.
      expect(seller.node.services.x402Server.stats().pendingCalls).toBe(0)
      expect([await call('p-1'), await call('p-2')]).toEqual(['served', 'served'])
      await until(async () => (await sellerRecords(disk)).every((r) => r.state === 'done'))
      const logs = ['p-0', 'p-1', 'p-2'].map((correlationId) => ({
        buyer: payer.address,
        correlationId,
        price: PRICE,
        result: { body: new Uint8Array(), contentType: '', correlationId, protocol: '', amount: PRICE },
        asks: 1
      }))
      await assertMoneyInvariant(chain, new Map([[payer.address, before]]), logs, { datastore: disk, settled: true })
    } finally {
      await buyer!.node.stop()
      await seller.stop()
    }
  })

  it('clearDefault settles the failures that caused it: the resolver does not undo it, a new failure does', {
    timeout: 60_000
  }, async () => {
    const anvil = createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })
    const seller = await deferredSeller(new HookedDatastore(), { credit: 3n * PRICE, lingerMs: 20, throttleMs: 500 })
    const server = seller.node.services.x402Server
    const funder = chain.devnet.accounts[4]!.account
    const payer = await freshAccount(chain, PRICE, funder)
    const [buyer] = await startBuyers(chain, [payer], { reaskAttempts: 0 })
    await connect([buyer!], seller)
    const submitted = new Map<string, Hash>()
    server.addEventListener('payment:submitted', (e) => submitted.set(e.detail.correlationId, e.detail.transaction!))
    const call = caller(buyer!, () => seller)
    const inDefault = async () => (await call(`probe-${Date.now()}`)) === 'PAYMENT_INVALID:payer_in_default'
    try {
      await anvil.setAutomine(false)
      expect(await call('c-0')).toBe('served')
      await until(async () => submitted.has('c-0'))
      await inPool(chain, submitted.get('c-0')!)
      // The payer moves its balance away ahead of the settlement: the transfer reverts, the payer is in default.
      const raw = await payer.signTransaction({
        chainId: chain.devnet.chainId,
        type: 'eip1559',
        nonce: await chain.client.getTransactionCount({ address: payer.address }),
        to: chain.asset.address,
        data: encodeFunctionData({ abi: usdcAbi, functionName: 'transfer', args: [funder.address, PRICE] }),
        gas: 100_000n,
        maxPriorityFeePerGas: parseGwei('50'),
        maxFeePerGas: parseGwei('100')
      })
      await chain.client.sendRawTransaction({ serializedTransaction: raw })
      await anvil.mine({ blocks: 1 })
      await anvil.setAutomine(true)
      await until(inDefault, 15_000)
      // It settles up with the operator (tops up its wallet); the operator clears the default.
      const top = await createWalletClient({
        account: funder,
        chain: chain.devnet.chain,
        transport: http(chain.devnet.rpcUrl)
      }).writeContract({
        address: chain.asset.address,
        abi: usdcAbi,
        functionName: 'transfer',
        args: [payer.address, 5n * PRICE]
      })
      await chain.client.waitForTransactionReceipt({ hash: top, pollingInterval: 20 })
      expect(await server.clearDefault(payer.address)).toBe(true)
      // c-0 is still pending (its transfer reverted; it ends void past validBefore): the resolver looks at it again and
      // again, and does not put the payer back in default for it.
      await new Promise((resolve) => setTimeout(resolve, 2_000))
      expect(await stateOf(seller.datastore, 'c-0')).toBe('settling')
      expect(await call('c-1')).toBe('served')
      await until(async () => (await stateOf(seller.datastore, 'c-1')) === 'done')
      // A new failure does: it cancels the next authorization before its settlement.
      await anvil.setAutomine(false)
      expect(await call('c-2')).toBe('served')
      await until(async () => submitted.has('c-2'))
      await inPool(chain, submitted.get('c-2')!)
      await cancelAuthorization(chain, payer, await nonceOf(seller.datastore, 'c-2'))
      await anvil.mine({ blocks: 1 })
      await anvil.setAutomine(true)
      await until(async () => (await stateOf(seller.datastore, 'c-2')) === 'void')
      expect(await inDefault()).toBe(true)
      await assertDeferredExposure(chain, seller.datastore, payer.address, 3n * PRICE)
      await assertMoneyInvariant(chain, new Map(), [], { datastore: seller.datastore })
    } finally {
      await anvil.setAutomine(true)
      await buyer!.node.stop()
      await seller.stop()
    }
  })
})
