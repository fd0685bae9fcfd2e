import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { MemoryDatastore } from 'datastore-core'
import type { Datastore } from 'interface-datastore'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CallConflictError,
  type CallJournal,
  type CallJournalEntry,
  CallNotFoundError,
  datastoreCallJournal,
  PaymentInterruptedError,
  type X402Handler
} from '../src/index.ts'
import { assertMoneyInvariant, balances } from './faults/money.ts'
import { type Chain, startChain } from './fixtures/chain.ts'
import { createNode, type X402Node } from './fixtures/nodes.ts'

const PRICE = 10_000n
const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (b: Uint8Array): string => new TextDecoder().decode(b)

/**
 * Issue 10, case 4: the buyer's call journal. A seller killed mid-call and a buyer restarted afterwards: the buyer
 * resumes the call from its journal with the stored payment and gets the result, charged once; the journal answers a
 * finished call without the network and refuses to reuse an id for another call.
 */
describe('the buyer call journal', () => {
  let chain: Chain
  let sellerKey: PrivateKey
  /** The seller binds a call to the calling peer: a restarted buyer keeps its key, as a full node does. */
  let buyerKey: PrivateKey
  const sellerStore: Datastore = new MemoryDatastore()
  const buyerStore: Datastore = new MemoryDatastore()
  let journal: CallJournal
  let runs = 0

  beforeAll(async () => {
    chain = await startChain(3)
    sellerKey = await generateKeyPair('Ed25519')
    buyerKey = await generateKeyPair('Ed25519')
    journal = datastoreCallJournal(buyerStore)
  })
  afterAll(async () => {
    await chain?.stop()
  })

  async function startSeller(handler: X402Handler): Promise<X402Node> {
    const node = await createNode({
      privateKey: sellerKey,
      datastore: sellerStore,
      server: { settler: chain.settlerFor(chain.devnet.accounts[0]!), asset: chain.asset, resolveIntervalMs: 100 }
    })
    node.services.x402Server.register('job', { price: { amount: PRICE }, handler })
    return node
  }

  function startBuyer(): Promise<X402Node> {
    return createNode({
      privateKey: buyerKey,
      client: {
        signer: chain.devnet.accounts[1]!.account,
        asset: chain.asset,
        publicClient: chain.client,
        journal,
        reaskAttempts: 2,
        reaskDelayMs: 100
      }
    })
  }

  it('a seller killed mid-call and a restarted buyer: resume gets the result, paid once', {
    timeout: 60_000
  }, async () => {
    const payer = chain.devnet.accounts[1]!.address
    const before = await balances(chain, [payer])
    let entered!: () => void
    const running = new Promise<void>((resolve) => {
      entered = resolve
    })
    let seller = await startSeller(async (_, { signal }) => {
      runs++
      entered()
      await new Promise((resolve) => signal.addEventListener('abort', resolve))
      return text('never')
    })
    const addresses = seller.getMultiaddrs()
    let buyer = await startBuyer()
    const call = buyer.services.x402Client
      .call(addresses, 'job', text('work'), {
        correlationId: 'killed-mid-call',
        maxAmount: PRICE,
        payTo: chain.devnet.accounts[0]!.address,
        metadata: { listing: 'job-listing' }
      })
      .catch((e: unknown) => e)
    await running
    await seller.stop() // killed while the handler runs: paid, no result yet
    expect(await call).toBeInstanceOf(PaymentInterruptedError)
    const sent = await journal.get('killed-mid-call')
    expect(sent).toMatchObject({ state: 'sent', metadata: { listing: 'job-listing' }, resource: 'job' })
    expect(sent?.payment).toBeDefined()
    await buyer.stop()

    // Both come back: the seller on the same key, store and addresses' port range; the buyer with the same journal.
    seller = await startSeller(async () => {
      runs++
      return text('done:work')
    })
    buyer = await startBuyer()
    try {
      const entry = await journal.get('killed-mid-call')
      // The seller listens on new ports: the application gives the new addresses (e.g. from its listing).
      await journal.put({ ...entry!, addresses: seller.getMultiaddrs().map(String) })
      const result = await buyer.services.x402Client.resume('killed-mid-call')
      expect(str(result.body)).toBe('done:work')
      expect(result.settlementCheck).toBe('verified')
      expect(await journal.get('killed-mid-call')).toMatchObject({ state: 'done', settlementCheck: 'verified' })
      const listed = await journal.list({ states: ['done'] })
      expect(listed.map((e) => e.correlationId)).toContain('killed-mid-call')
      await assertMoneyInvariant(chain, before, [
        { buyer: payer, correlationId: 'killed-mid-call', price: PRICE, result, asks: 2 }
      ])
      expect(runs).toBe(2) // once interrupted by the kill, once after the restart: paid once

      // Answered from the journal: the seller is gone, the result is not.
      await seller.stop()
      const again = await buyer.services.x402Client.call(seller.getMultiaddrs(), 'job', text('work'), {
        correlationId: 'killed-mid-call',
        maxAmount: PRICE,
        payTo: chain.devnet.accounts[0]!.address
      })
      expect(str(again.body)).toBe('done:work')
      await expect(
        buyer.services.x402Client.call(seller.getMultiaddrs(), 'job', text('other work'), {
          correlationId: 'killed-mid-call',
          maxAmount: PRICE,
          payTo: chain.devnet.accounts[0]!.address
        })
      ).rejects.toBeInstanceOf(CallConflictError)
      await expect(buyer.services.x402Client.resume('never-made')).rejects.toBeInstanceOf(CallNotFoundError)
      await assertMoneyInvariant(chain, before, [
        { buyer: payer, correlationId: 'killed-mid-call', price: PRICE, result, asks: 3 }
      ])
    } finally {
      await buyer.stop()
      await seller.stop()
    }
  })
})

describe('datastoreCallJournal', () => {
  const entry = (id: string, createdAt: number, state: CallJournalEntry['state']): CallJournalEntry => ({
    correlationId: id,
    peer: 'seller',
    addresses: [],
    resource: 'job',
    body: Buffer.from(`body of ${id}`).toString('base64'),
    contentType: '',
    state,
    ...(state === 'done'
      ? { result: { body: Buffer.from(`result of ${id}`).toString('base64'), contentType: 'text/plain' } }
      : {}),
    createdAt,
    updatedAt: createdAt
  })

  it('pages newest first without bodies, filters by state, and keeps bodies for get', async () => {
    const journal = datastoreCallJournal(new MemoryDatastore())
    for (let i = 0; i < 25; i++) await journal.put(entry(`call-${i}`, 1_000 + i, i % 3 === 0 ? 'done' : 'sent'))
    // An update keeps the call's place in time.
    await journal.put({ ...entry('call-3', 1_003, 'done'), updatedAt: 9_999 })

    const first = await journal.list({ limit: 10 })
    expect(first.map((e) => e.correlationId)).toEqual(Array.from({ length: 10 }, (_, i) => `call-${24 - i}`))
    expect(first.every((e) => !('body' in e) && (e.result == null || !('body' in e.result)))).toBe(true)
    const next = await journal.list({ limit: 10, before: first[first.length - 1]!.createdAt })
    expect(next[0]?.correlationId).toBe('call-14')
    const done = await journal.list({ states: ['done'], limit: 100 })
    expect(done.map((e) => e.correlationId)).toEqual([
      'call-24',
      'call-21',
      'call-18',
      'call-15',
      'call-12',
      'call-9',
      'call-6',
      'call-3',
      'call-0'
    ])

    const full = await journal.get('call-3')
    expect(full).toMatchObject({ state: 'done', updatedAt: 9_999, createdAt: 1_003 })
    expect(Buffer.from(full!.body, 'base64').toString()).toBe('body of call-3')
    expect(Buffer.from(full!.result!.body, 'base64').toString()).toBe('result of call-3')
    expect(await journal.get('nope')).toBeUndefined()
    await expect(journal.get('../escape')).rejects.toThrow(RangeError)
  })
})
