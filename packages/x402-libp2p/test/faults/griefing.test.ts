import { usdcAbi } from '@betar/devnet'
import { type Address, createTestClient, createWalletClient, type Hash, http, type LocalAccount } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_SETTLEMENT_GAS_LIMIT, type PaymentSigner, X402Error } from '../../src/index.ts'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { createNode, type X402Node } from '../fixtures/nodes.ts'
import { connect, type FaultySeller, PRICE, payJob, startFaultySeller, text } from './harness.ts'
import { assertMoneyInvariant, balances, type PaidCallLog } from './money.ts'
import { freshAccount } from './payer-tricks.ts'
import { contractWalletSigner, deployWallet, testContracts } from './wallets.ts'

/**
 * Issue cases 7–9: payers that make the seller pay gas for nothing. Concurrent authorizations beyond the payer's
 * balance are refused before any broadcast; a contract wallet that is only valid at gas price 0, or that burns gas,
 * is refused by the simulation run with the real fees under the gas cap; a payer that makes a settlement revert
 * after it passed simulation (a wallet that changes its mind, a balance moved away) costs the seller one reverted
 * transaction — then it is throttled. No settlement transaction ever has a gas limit above the cap.
 */
const EXTRA = 100_000n
const CAP_EOA = DEFAULT_SETTLEMENT_GAS_LIMIT
const CAP_CONTRACT = DEFAULT_SETTLEMENT_GAS_LIMIT + EXTRA

let chain: Chain
let seller: FaultySeller | undefined

beforeAll(async () => {
  chain = await startChain(6)
})
afterAll(async () => {
  await chain?.stop()
})
afterEach(async () => {
  await seller?.stop()
  seller = undefined
})

/** A fresh payer holding exactly `usdc` (and ETH for its own transactions). */
const freshPayer = (usdc: bigint): Promise<LocalAccount> => freshAccount(chain, usdc, chain.devnet.accounts[5]!.account)

/** Every settlement transaction the seller broadcast (hashes the node answered with), with its receipt. */
async function sellerTransactions(s: FaultySeller) {
  const hashes = [...new Set(s.proxy.calls.flatMap((c) => (typeof c.result === 'string' ? [c.result as Hash] : [])))]
  return Promise.all(
    hashes.map(async (hash) => ({
      tx: await chain.client.getTransaction({ hash }),
      receipt: await chain.client.getTransactionReceipt({ hash })
    }))
  )
}

async function buyerFor(signer: PaymentSigner): Promise<X402Node> {
  return createNode({ client: { signer, asset: chain.asset, reaskAttempts: 0 } })
}

describe('case 7: concurrent authorizations beyond the payer balance', () => {
  it('20 concurrent payments from a payer holding 1× the price: 1 settles, 19 refused, no seller tx reverts', {
    timeout: 60_000
  }, async () => {
    seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account)
    const payer = await freshPayer(PRICE)
    const buyer = await buyerFor(payer)
    const current = seller
    await connect([buyer], current)
    try {
      const requirements = current.node.services.x402Server.requirements('job')[0]!
      const before = await balances(chain, [payer.address])
      const logs: PaidCallLog[] = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          payJob(buyer.services.x402Client, payer.address, current, `grief-${i}`, {
            call: { preemptive: requirements },
            retry: { deadlineMs: 0 }
          })
        )
      )
      expect(logs.filter((l) => l.result != null)).toHaveLength(1)
      const refused = logs.filter((l) => l.result == null).map((l) => (l.error as X402Error).codeName)
      expect(refused).toEqual(Array(19).fill('INSUFFICIENT_FUNDS'))
      const txs = await sellerTransactions(current)
      expect(txs).toHaveLength(1)
      expect(txs.filter((t) => t.receipt.status === 'reverted')).toHaveLength(0)
      await assertMoneyInvariant(chain, before, logs, { datastore: current.datastore, settled: true })
    } finally {
      await buyer.stop()
    }
  })
})

describe('cases 8 and 9: hostile contract wallets are refused by a simulation with the real fields', () => {
  it('a wallet valid only at gas price 0: 10 requests, all refused, no seller transaction', async () => {
    seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account)
    const owner = await freshPayer(0n)
    const wallet = await deployWallet(chain, 'GasPriceGatedWallet', owner, {
      usdc: 10n * PRICE,
      funder: chain.devnet.accounts[5]!.account
    })
    const buyer = await buyerFor(contractWalletSigner(wallet, owner, 'parity'))
    try {
      const before = await balances(chain, [wallet])
      const logs: PaidCallLog[] = []
      for (let i = 0; i < 10; i++) {
        logs.push(
          await payJob(buyer.services.x402Client, wallet, seller, `gasprice-${i}`, { retry: { deadlineMs: 0 } })
        )
      }
      expect(logs.map((l) => (l.error as X402Error | undefined)?.codeName)).toEqual(Array(10).fill('INVALID_SIGNATURE'))
      expect(seller.proxy.count('eth_sendRawTransaction')).toBe(0)
      await assertMoneyInvariant(chain, before, logs)
    } finally {
      await buyer.stop()
    }
  })

  it('a wallet that burns ~10 M gas is refused by the simulation under the gas cap; one within the cap settles', {
    timeout: 60_000
  }, async () => {
    seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account)
    const owner = await freshPayer(0n)
    const funder = chain.devnet.accounts[5]!.account
    const burner = await deployWallet(chain, 'GasBurnerWallet', owner, { usdc: PRICE, funder, args: [60_000n] })
    const light = await deployWallet(chain, 'GasBurnerWallet', owner, { usdc: PRICE, funder, args: [200n] })
    const heavyBuyer = await buyerFor(contractWalletSigner(burner, owner, 'parity'))
    const lightBuyer = await buyerFor(contractWalletSigner(light, owner, 'parity'))
    try {
      const before = await balances(chain, [burner, light])
      const heavy = await payJob(heavyBuyer.services.x402Client, burner, seller, 'burner-heavy', {
        retry: { deadlineMs: 0 }
      })
      // The simulation runs under the cap: the wallet's check starves inside the token, which reports it invalid.
      expect(heavy.error).toBeInstanceOf(X402Error)
      expect(heavy.error).toMatchObject({ codeName: 'INVALID_SIGNATURE' })
      expect(seller.proxy.count('eth_sendRawTransaction')).toBe(0)

      const ok = await payJob(lightBuyer.services.x402Client, light, seller, 'burner-light', {
        retry: { deadlineMs: 0 }
      })
      expect(ok.error).toBeUndefined()
      for (const { tx, receipt } of await sellerTransactions(seller)) {
        expect(tx.gas).toBeLessThanOrEqual(CAP_CONTRACT)
        expect(receipt.gasUsed).toBeLessThanOrEqual(CAP_CONTRACT)
      }
      await assertMoneyInvariant(chain, before, [heavy, ok], { datastore: seller.datastore, settled: true })
    } finally {
      await Promise.all([heavyBuyer.stop(), lightBuyer.stop()])
    }
  })
})

describe('a payer that makes a settlement revert after it passed simulation is throttled', () => {
  const test = () =>
    createTestClient({ mode: 'anvil', chain: chain.devnet.chain, transport: http(chain.devnet.rpcUrl) })

  /**
   * Pays once (1 mined-then-reverted seller tx, provoked by `sabotage` between broadcast and inclusion), then tries 5
   * more times: every retry is refused RATE_LIMITED with no broadcast. The first call ends SETTLEMENT_FAILED once its
   * authorization expired unused.
   */
  async function attack(
    signer: PaymentSigner,
    payer: Address,
    sabotage: () => Promise<void>,
    restore: () => Promise<void>,
    cap: bigint,
    checkPayer = true
  ): Promise<void> {
    seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account, {
      server: { confirmationTimeoutMs: 2_000, resolveIntervalMs: 500, minSettleWindowSeconds: 3 }
    })
    const current = seller
    current.node.services.x402Server.unregister('job')
    current.node.services.x402Server.register('job', {
      price: { amount: PRICE, maxTimeoutSeconds: 9 }, // the authorization lapses 9 s after signing (x402 verifiers want ≥ 6 s left)
      handler: () => text('never')
    })
    const buyer = await buyerFor(signer)
    try {
      const before = await balances(chain, [payer])
      const payeeBefore = await chain.balance(current.address)
      await test().setAutomine(false)
      current.node.services.x402Server.addEventListener(
        'payment:submitted',
        (event) => {
          const hash = event.detail.transaction!
          void (async () => {
            for (let i = 0; i < 200 && (await chain.client.getTransaction({ hash }).catch(() => null)) == null; i++) {
              await new Promise((resolve) => setTimeout(resolve, 10))
            }
            await sabotage()
            await test().mine({ blocks: 1 })
            // Blocks keep coming, as on a real chain: chain time passes the authorization's validBefore.
            await test().setIntervalMining({ interval: 1 })
          })()
        },
        { once: true }
      )
      const first = await payJob(buyer.services.x402Client, payer, current, 'sabotaged-0', {
        retry: { deadlineMs: 30_000, pauseMs: 500 }
      })
      await restore()
      const retries: PaidCallLog[] = []
      for (let i = 1; i <= 5; i++) {
        retries.push(
          await payJob(buyer.services.x402Client, payer, current, `sabotaged-${i}`, { retry: { deadlineMs: 0 } })
        )
      }
      expect(first.error).toMatchObject({ codeName: 'SETTLEMENT_FAILED' })
      expect(retries.map((r) => (r.error as X402Error | undefined)?.codeName)).toEqual(Array(5).fill('RATE_LIMITED'))
      const txs = await sellerTransactions(current)
      expect(txs.filter((t) => t.receipt.status === 'reverted')).toHaveLength(1)
      expect(txs).toHaveLength(1)
      for (const { tx, receipt } of txs) {
        expect(tx.gas).toBeLessThanOrEqual(cap)
        expect(receipt.gasUsed).toBeLessThanOrEqual(cap)
      }
      // Nothing reached the payee, and no record says otherwise; the payer's own balance moves are the test's doing.
      expect(await chain.balance(current.address)).toBe(payeeBefore)
      await assertMoneyInvariant(chain, checkPayer ? before : new Map(), [first, ...retries], {
        datastore: current.datastore,
        settled: true
      })
    } finally {
      await test().setIntervalMining({ interval: 0 })
      await test().setAutomine(true)
      await buyer.stop()
    }
  }

  /** A ToggleWallet payer whose owner switches it to `mode` (1: invalid, 2: burn all gas) once the seller broadcast. */
  async function toggleAttack(mode: 1 | 2): Promise<void> {
    const owner = await freshPayer(0n)
    const wallet = await deployWallet(chain, 'ToggleWallet', owner, {
      usdc: 6n * PRICE,
      funder: chain.devnet.accounts[5]!.account
    })
    const { abi } = testContracts().ToggleWallet
    const asOwner = createWalletClient({
      account: owner,
      chain: chain.devnet.chain,
      transport: http(chain.devnet.rpcUrl)
    })
    const setMode = (next: number, tip: bigint) =>
      asOwner.writeContract({
        address: wallet,
        abi,
        functionName: 'setMode',
        args: [next],
        gas: 100_000n,
        maxFeePerGas: 200_000_000_000n,
        maxPriorityFeePerGas: tip
      })
    await attack(
      contractWalletSigner(wallet, owner, 'parity'),
      wallet,
      async () => {
        await setMode(mode, 50_000_000_000n) // outbids the settlement: mined first in the same block
      },
      async () => {
        await chain.client.waitForTransactionReceipt({ hash: await setMode(0, 1_000_000_000n), pollingInterval: 20 })
      },
      CAP_CONTRACT
    )
  }

  it('a contract wallet that turns invalid after the simulation', { timeout: 60_000 }, () => toggleAttack(1))

  it('a contract wallet that burns all the gas it is given after the simulation', { timeout: 60_000 }, () =>
    toggleAttack(2)
  )

  it('an externally owned payer that moves its balance away after the simulation', { timeout: 60_000 }, async () => {
    const payer = await freshPayer(PRICE)
    const asPayer = createWalletClient({
      account: payer,
      chain: chain.devnet.chain,
      transport: http(chain.devnet.rpcUrl)
    })
    const sink = privateKeyToAccount(generatePrivateKey()).address
    await attack(
      payer,
      payer.address,
      async () => {
        await asPayer.writeContract({
          address: chain.asset.address,
          abi: usdcAbi,
          functionName: 'transfer',
          args: [sink, PRICE],
          gas: 100_000n,
          maxFeePerGas: 200_000_000_000n,
          maxPriorityFeePerGas: 50_000_000_000n
        })
      },
      async () => {
        // Refill, so later refusals are the throttle's, not the balance's.
        const funder = createWalletClient({
          account: chain.devnet.accounts[5]!.account,
          chain: chain.devnet.chain,
          transport: http(chain.devnet.rpcUrl)
        })
        const hash = await funder.writeContract({
          address: chain.asset.address,
          abi: usdcAbi,
          functionName: 'transfer',
          args: [payer.address, 6n * PRICE]
        })
        await chain.client.waitForTransactionReceipt({ hash, pollingInterval: 20 })
      },
      CAP_EOA,
      false
    )
  })
})
