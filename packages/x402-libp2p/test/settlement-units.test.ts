import { usdcAbi } from '@betar/devnet'
import { MemoryDatastore } from 'datastore-core'
import {
  createWalletClient,
  HttpRequestError,
  http,
  InternalRpcError,
  type PublicClient,
  RpcRequestError,
  TimeoutError,
  TransactionRejectedRpcError,
  toHex
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SettlementNonceManager } from '../src/index.ts'
import { ChallengeBook } from '../src/server/challenges.ts'
import { transferCalldata } from '../src/settlement/eip3009.ts'
import { replacementFees } from '../src/settlement/fees.ts'
import { PayerLedger } from '../src/settlement/payer-ledger.ts'
import { classifyRpcError } from '../src/settlement/rpc-errors.ts'
import type { ChallengeRecord } from '../src/store/records.ts'
import { type Chain, startChain } from './fixtures/chain.ts'
import { createNode } from './fixtures/nodes.ts'

const rpc = (code: number, message: string) =>
  new RpcRequestError({ body: { method: 'eth_call' }, error: { code, message }, url: 'http://127.0.0.1:8545' })
const rejected = (details: string) =>
  new TransactionRejectedRpcError(
    new RpcRequestError({ body: {}, error: { code: -32003, message: details }, url: 'x' })
  )

describe('classifyRpcError: verdicts, node refusals and infrastructure faults', () => {
  const cases: Array<[string, unknown, string]> = [
    ['a revert (code 3)', rpc(3, 'execution reverted: FiatTokenV2: invalid signature'), 'revert'],
    ['a revert (geth -32000)', rpc(-32000, 'execution reverted'), 'revert'],
    ['out of gas under the cap', rejected('Out of gas: gas required exceeds allowance: 150000'), 'out-of-gas'],
    ['out of gas (anvil, revm: -32603)', rpc(-32603, 'EVM error OutOfGas'), 'out-of-gas'],
    ['nonce too low', rejected('nonce too low'), 'nonce-too-low'],
    ['already known (geth)', rejected('already known'), 'already-known'],
    ['already imported (anvil)', rejected('transaction already imported'), 'already-known'],
    ['replacement underpriced', rejected('replacement transaction underpriced'), 'underpriced'],
    ['fee below the base fee', rejected('max fee per gas less than block base fee'), 'fee-too-low'],
    ['no gas funds', rejected('Insufficient funds for gas * price + value'), 'no-gas-funds'],
    ['HTTP 502', new HttpRequestError({ url: 'http://x', status: 502, details: 'bad gateway' }), 'infrastructure'],
    ['a timeout', new TimeoutError({ body: {}, url: 'http://x' }), 'infrastructure'],
    ['an internal error', new InternalRpcError(new Error('boom')), 'infrastructure'],
    ['a rate limit', rpc(-32005, 'limit exceeded'), 'infrastructure'],
    ['fetch failed', new TypeError('fetch failed'), 'infrastructure']
  ]
  for (const [name, err, kind] of cases) {
    it(`${name} → ${kind}`, () => {
      expect(classifyRpcError(err).kind).toBe(kind)
    })
  }
  it('an HTTP error whose body mentions a revert is still infrastructure (the outcome is unknown)', () => {
    const err = new HttpRequestError({ url: 'http://x', status: 500, details: 'execution reverted' })
    expect(classifyRpcError(err).kind).toBe('infrastructure')
  })
})

describe('transferCalldata chooses the overload by payer, not by signature length', () => {
  const a = {
    from: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    to: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    value: '10000',
    validAfter: '0',
    validBefore: '9999999999',
    nonce: toHex(new Uint8Array(32).fill(7))
  } as const
  const r = 'a'.repeat(64)
  const s = 'b'.repeat(64)
  it('an externally owned payer: v ∈ {0, 1} becomes 27/28 in the (v, r, s) overload', () => {
    const withParity = transferCalldata(a, `0x${r}${s}01`, false)!
    const withV = transferCalldata(a, `0x${r}${s}1c`, false)!
    expect(withParity).toBe(withV)
    expect(withParity.slice(0, 10)).toBe('0xe3ee160e') // transferWithAuthorization(…,uint8,bytes32,bytes32)
  })
  it('an externally owned payer with a non-65-byte signature cannot be settled', () => {
    expect(transferCalldata(a, `0x${r}${s}1c${'00'.repeat(32)}`, false)).toBeUndefined()
  })
  it('a payer with code: the bytes overload with the signature unchanged, whatever its last byte or length', () => {
    for (const sig of [`0x${r}${s}00`, `0x${r}${s}1f`, `0x${r}${s}1b${'ee'.repeat(32)}`] as const) {
      const data = transferCalldata(a, sig, true)!
      expect(data.slice(0, 10)).toBe('0xcf092995') // transferWithAuthorization(…,bytes)
      expect(data).toContain(sig.slice(2))
    }
  })
})

describe('replacementFees: raise over the replaced transaction, follow the market, never compound past the cap', () => {
  const gwei = (n: number) => BigInt(Math.round(n * 1e9))
  const fees = (maxFee: number, tip: number) => ({ maxFeePerGas: gwei(maxFee), maxPriorityFeePerGas: gwei(tip) })
  const policy = { bumpPercent: 25, maxBumpFactor: 4 }
  it('raises by the bump over the old fees when the market is lower', () => {
    expect(replacementFees(fees(2, 1), fees(2, 1), fees(1, 0.5), policy)).toEqual(fees(2.5, 1.25))
  })
  it('follows the market when it is above the bump, even past the factor', () => {
    expect(replacementFees(fees(2, 1), fees(2, 1), fees(100, 3), policy)).toEqual(fees(100, 3))
  })
  it('stops at factor × the first fees while the market stays low (no compounding)', () => {
    expect(replacementFees(fees(7, 3.5), fees(2, 1), fees(1, 0.5), policy)).toEqual(fees(8, 4))
    expect(replacementFees(fees(7.5, 3.75), fees(2, 1), fees(1, 0.5), policy)).toBeUndefined() // < the 10 % a node needs
    expect(replacementFees(fees(8, 4), fees(2, 1), fees(1, 0.5), policy)).toBeUndefined()
  })
  it("respects the operator's absolute maxFeePerGas", () => {
    expect(replacementFees(fees(2, 1), fees(2, 1), fees(100, 3), { ...policy, maxFeePerGas: gwei(50) })).toEqual(
      fees(50, 3)
    )
    expect(
      replacementFees(fees(50, 3), fees(2, 1), fees(100, 3), { ...policy, maxFeePerGas: gwei(50) })
    ).toBeUndefined()
  })
})

describe('PayerLedger', () => {
  const payer = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
  it('sums what is ahead of an authorization in its payer line, until settled, void or expired', () => {
    const ledger = new PayerLedger({ throttleMs: 1_000 })
    const far = Date.now() + 60_000
    expect(ledger.open('a', payer, 10n, far).ahead).toBe(0n)
    expect(ledger.open('b', payer, 20n, far).ahead).toBe(10n)
    expect(ledger.open('c', payer.toLowerCase() as `0x${string}`, 5n, far).ahead).toBe(30n)
    expect(ledger.open('b', payer, 20n, far).ahead).toBe(10n) // re-opening keeps its place in line
    ledger.close('a')
    expect(ledger.open('c', payer, 5n, far).ahead).toBe(20n)
    expect(ledger.open('d', '0x0000000000000000000000000000000000000001', 1n, far).ahead).toBe(0n)
    ledger.open('old', payer, 100n, Date.now() - 1)
    expect(ledger.open('e', payer, 1n, far).ahead).toBe(25n) // the expired one no longer counts
  })
  it('a cached balance drops by what our settlements took, and lapses', () => {
    const ledger = new PayerLedger({ throttleMs: 1_000, balanceTtlMs: 50 })
    ledger.setBalance(payer, 100n)
    ledger.open('x', payer, 30n, Date.now() + 60_000)
    ledger.close('x', true)
    expect(ledger.cachedBalance(payer)).toBe(70n)
    expect(ledger.cachedBalance(payer, Date.now() + 100)).toBeUndefined()
  })
  it('lets a payer without payments have one settlement in flight, one more per confirmed one', async () => {
    const ledger = new PayerLedger({ throttleMs: 1_000, maxInFlight: 3 })
    const soon = Date.now() + 50
    expect(await ledger.acquire(payer, 'a', soon)).toBe(true)
    expect(await ledger.acquire(payer, 'b', soon)).toBe(false) // waited 50 ms, no slot
    const waiting = ledger.acquire(payer, 'b', Date.now() + 5_000)
    ledger.open('a', payer, 1n, Date.now() + 60_000)
    ledger.close('a', true) // confirmed: credit 1
    ledger.release(payer, 'a')
    expect(await waiting).toBe(true)
    expect(ledger.allowance(payer)).toBe(2)
    expect(await ledger.acquire(payer, 'c', soon)).toBe(true)
    ledger.throttle(payer)
    expect(ledger.allowance(payer)).toBe(1)
  })
  it('throttles a payer for the window', () => {
    const ledger = new PayerLedger({ throttleMs: 1_000 })
    const now = Date.now()
    ledger.throttle(payer, now)
    expect(ledger.throttledUntil(payer, now + 999)).toBe(now + 1_000)
    expect(ledger.throttledUntil(payer, now + 1_000)).toBeUndefined()
  })
})

describe('ChallengeBook: a global bound, oldest evicted, rebuilt after a restart', () => {
  const record = (i: number, expiresAt: number): ChallengeRecord => ({
    peer: `peer${i}`,
    correlationId: `c${i}`,
    resource: 'r',
    requirementsHash: '0x00',
    nonce: toHex(i, { size: 32 }),
    expiresAt,
    consumed: false
  })
  it('keeps at most maxStored, evicting in issue order; load() restores the same set', async () => {
    const datastore = new MemoryDatastore()
    const book = new ChallengeBook(datastore, { maxStored: 3, retentionMs: 60_000 })
    const expires = Math.floor(Date.now() / 1000) + 120
    for (let i = 0; i < 5; i++) await book.issue(`k${i}`, record(i, expires))
    expect(book.size).toBe(3)
    expect(await book.get('k0')).toBeUndefined()
    expect(await book.get('k1')).toBeUndefined()
    expect(await book.get('k4')).toMatchObject({ correlationId: 'c4' })
    const restarted = new ChallengeBook(datastore, { maxStored: 3, retentionMs: 60_000 })
    await restarted.load()
    expect(restarted.size).toBe(3)
    await restarted.issue('k5', record(5, expires))
    expect(await restarted.get('k2')).toBeUndefined()
  })
})

describe('SettlementNonceManager shared by settlements and viem writes of one account', () => {
  let chain: Chain
  beforeAll(async () => {
    chain = await startChain(3)
  })
  afterAll(async () => {
    await chain?.stop()
  })

  it('hands out released nonces first, never below an observed one', async () => {
    const nonces = new SettlementNonceManager()
    const ids = { address: chain.devnet.accounts[2]!.address, chainId: chain.devnet.chainId }
    const start = await nonces.allocate({ ...ids, client: chain.client as PublicClient })
    expect(await nonces.allocate({ ...ids, client: chain.client })).toBe(start + 1)
    nonces.release({ ...ids, nonce: start })
    expect(await nonces.allocate({ ...ids, client: chain.client })).toBe(start)
    nonces.observe({ ...ids, nonce: start + 10 })
    expect(await nonces.allocate({ ...ids, client: chain.client })).toBe(start + 11)
  })

  it('viem writes (e.g. feedback, registration) interleaved with paid calls never collide', {
    timeout: 60_000
  }, async () => {
    const nonceManager = new SettlementNonceManager()
    const sellerKey = chain.devnet.accounts[0]!.privateKey
    // The node's other writes go through a viem account carrying the same nonce manager.
    const writer = createWalletClient({
      account: privateKeyToAccount(sellerKey, { nonceManager }),
      chain: chain.devnet.chain,
      transport: http(chain.devnet.rpcUrl)
    })
    const seller = await createNode({
      server: { settler: chain.settlerFor(chain.devnet.accounts[0]!, { nonceManager }), asset: chain.asset }
    })
    const buyer = await createNode({ client: { signer: chain.devnet.accounts[1]!.account, asset: chain.asset } })
    seller.services.x402Server.register('job', { price: { amount: 1_000n }, handler: () => new Uint8Array([1]) })
    await buyer.dial(seller.getMultiaddrs()) // one connection before the concurrent calls
    try {
      const before = await chain.balance(chain.devnet.accounts[1]!.address)
      const [paid, writes] = await Promise.all([
        Promise.all(
          Array.from({ length: 15 }, () =>
            buyer.services.x402Client.call(seller.getMultiaddrs(), 'job', new Uint8Array(), {
              maxAmount: 1_000n,
              payTo: chain.devnet.accounts[0]!.address
            })
          )
        ),
        Promise.all(
          Array.from({ length: 15 }, (_, i) =>
            writer.writeContract({
              address: chain.asset.address,
              abi: usdcAbi,
              functionName: 'approve',
              args: [chain.devnet.accounts[2]!.address, BigInt(i)]
            })
          )
        )
      ])
      expect(paid).toHaveLength(15)
      const receipts = await Promise.all(writes.map((hash) => chain.client.waitForTransactionReceipt({ hash })))
      expect(receipts.every((r) => r.status === 'success')).toBe(true)
      expect(await chain.balance(chain.devnet.accounts[1]!.address)).toBe(before - 15_000n)
    } finally {
      await Promise.all([buyer.stop(), seller.stop()])
    }
  })
})
