import { type Hex, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { createNode } from '../fixtures/nodes.ts'
import { type FaultySeller, PRICE, payJob, startFaultySeller, str } from './harness.ts'
import { assertMoneyInvariant, balances, sellerRecords } from './money.ts'
import { freshAccount } from './payer-tricks.ts'
import { contractWalletSigner, deployWallet, type WalletSignatureScheme } from './wallets.ts'

/**
 * Issue case 11: an ERC-1271 contract wallet's signature is whatever its wallet reads — a 65-byte signature whose last
 * byte is 0x00 or 0x1f, or a longer one. The settler chooses the contract path because the payer has code, and hands
 * the signature bytes to the token unchanged.
 */
describe('contract-wallet payers (ERC-1271) on the devnet', () => {
  let chain: Chain
  let seller: FaultySeller

  beforeAll(async () => {
    chain = await startChain(3)
    seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account)
  })
  afterAll(async () => {
    await seller?.stop()
    await chain?.stop()
  })

  const schemes: Array<[WalletSignatureScheme, string]> = [
    ['parity', '65 bytes, last byte 0x00/0x01'],
    ['eth_sign', '65 bytes, last byte 0x1f/0x20'],
    ['trailing', '97 bytes']
  ]
  for (const [scheme, shape] of schemes) {
    it(`pays with a ${shape} signature, passed to the token unchanged`, async () => {
      const owner = await freshAccount(chain, 0n, chain.devnet.accounts[2]!.account)
      const wallet = await deployWallet(chain, 'OwnedWallet', owner, {
        usdc: 3n * PRICE,
        funder: chain.devnet.accounts[2]!.account
      })
      const buyer = await createNode({
        client: { signer: contractWalletSigner(wallet, owner, scheme), asset: chain.asset, reaskAttempts: 1 }
      })
      try {
        const before = await balances(chain, [wallet])
        const correlationId = `wallet-${scheme}`
        const log = await payJob(buyer.services.x402Client, wallet, seller, correlationId, {
          body: scheme,
          retry: { deadlineMs: 0 }
        })
        expect(log.error).toBeUndefined()
        expect(str(log.result!.body)).toBe(`done:${scheme}`)
        const record = (await sellerRecords(seller.datastore)).find((r) => r.correlationId === correlationId)!
        const signature = (record.payment.payload as { signature: Hex }).signature.toLowerCase()
        expect(signature.length).toBe(scheme === 'trailing' ? 2 + 97 * 2 : 132)
        if (scheme === 'parity') expect(['00', '01']).toContain(signature.slice(-2))
        if (scheme === 'eth_sign') expect(['1f', '20']).toContain(signature.slice(-2))
        const tx = await chain.client.getTransaction({ hash: log.result!.settlement!.transaction as Hex })
        expect(tx.input.toLowerCase()).toContain(signature.slice(2)) // the bytes the wallet signed, unchanged
        await assertMoneyInvariant(chain, before, [log], { datastore: seller.datastore, settled: true })
      } finally {
        await buyer.stop()
      }
    })
  }

  it('an externally owned payer with v ∈ {0, 1} is normalised to 27/28 (what ecrecover accepts)', async () => {
    const payer = chain.devnet.accounts[1]!.account
    const buyer = await createNode({
      client: {
        signer: {
          address: payer.address,
          async signTypedData(parameters) {
            const sig = await payer.signTypedData(parameters as Parameters<typeof payer.signTypedData>[0])
            const v = Number.parseInt(sig.slice(-2), 16)
            return `${sig.slice(0, -2)}${toHex(v - 27, { size: 1 }).slice(2)}` as Hex
          }
        },
        asset: chain.asset
      }
    })
    try {
      const before = await balances(chain, [payer.address])
      const log = await payJob(buyer.services.x402Client, payer.address, seller, 'eoa-parity', {
        body: 'eoa',
        retry: { deadlineMs: 0 }
      })
      expect(log.error).toBeUndefined()
      await assertMoneyInvariant(chain, before, [log], { datastore: seller.datastore, settled: true })
    } finally {
      await buyer.stop()
    }
  })
})
