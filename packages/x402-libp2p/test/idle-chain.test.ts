import { randomBytes } from 'node:crypto'
import { bytesToHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildRequirements, type Settler, signExactPayment } from '../src/index.ts'
import { type Chain, startChain } from './fixtures/chain.ts'

const PRICE = 12_000n

describe('an authorization valid by wall-clock time on a chain that has been idle (issue 15)', () => {
  let chain: Chain
  let settler: Settler

  beforeAll(async () => {
    chain = await startChain(3)
    settler = chain.settlerFor(chain.devnet.accounts[0]!)
  }, 60_000)
  afterAll(async () => {
    await chain?.stop()
  })

  it('a Go-style validAfter = now − 5 s is accepted and settled after 10 s without blocks', {
    timeout: 40_000
  }, async () => {
    const [sellerAccount, buyerAccount] = chain.devnet.accounts
    const requirements = buildRequirements({ amount: PRICE }, chain.asset, sellerAccount!.address)
    // Automine: no transaction, no block. Wait until the latest block is more than 10 s old.
    const latest = await chain.client.getBlock()
    const idleUntil = (Number(latest.timestamp) + 11) * 1000
    await new Promise((r) => setTimeout(r, Math.max(0, idleUntil - Date.now())))
    const now = Math.floor(Date.now() / 1000)
    expect(Number((await chain.client.getBlock()).timestamp)).toBeLessThan(now - 5)

    const payload = await signExactPayment(buyerAccount!.account, requirements, bytesToHex(randomBytes(32)), {
      validAfter: now - 5
    })
    const verdict = await settler.verify(payload, requirements)
    expect(verdict.invalidReason).toBeUndefined()
    expect(verdict.isValid).toBe(true)

    const before = await chain.balance(sellerAccount!.address)
    const outcome = await settler.settle(
      payload,
      requirements,
      { transactions: [] },
      {
        confirmationTimeoutMs: 10_000,
        persist: async () => {}
      }
    )
    expect(outcome.status).toBe('settled')
    expect(await chain.balance(sellerAccount!.address)).toBe(before + PRICE)
  })

  it('an authorization not valid until later by wall-clock time too is still refused', async () => {
    const [sellerAccount, buyerAccount] = chain.devnet.accounts
    const requirements = buildRequirements({ amount: PRICE }, chain.asset, sellerAccount!.address)
    const payload = await signExactPayment(buyerAccount!.account, requirements, bytesToHex(randomBytes(32)), {
      validAfter: Math.floor(Date.now() / 1000) + 3_600
    })
    const verdict = await settler.verify(payload, requirements)
    expect(verdict.isValid).toBe(false)
    expect(verdict.invalidReason).toBe('invalid_exact_evm_payload_authorization_valid_after')
  })
})
