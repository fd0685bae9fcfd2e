import type { PaymentRequirements } from '@x402/core/types'
import { type Address, createWalletClient, erc20Abi, type Hex, http, type LocalAccount, toHex } from 'viem'
import { Channel } from '../../src/channel.ts'
import { buildRequirements, X402_PROTOCOL, X402_VERSION } from '../../src/index.ts'
import { jsonBytes } from '../../src/json.ts'
import { parseExactPayment } from '../../src/payment.ts'
import { transferCalldata } from '../../src/settlement/eip3009.ts'
import type { WireMessage } from '../../src/wire.ts'
import type { Chain } from '../fixtures/chain.ts'
import { createNode, type X402Node } from '../fixtures/nodes.ts'

/**
 * How a hostile seller lies about a paid call:
 * - `fake-hash`: never settles, answers the result with a made-up successful settlement;
 * - `wrong-hash`: settles, but reports another transaction;
 * - `settle-then-fail`: settles, then answers SETTLEMENT_FAILED ("nothing moved");
 * - `over-price`: asks twice the price it advertised;
 * - `cite-refund`: settles, then answers EXECUTION_FAILED citing `cite()` as the refund (another call's refund, a
 *   transfer the buyer made itself…);
 * - `unbound-refund`: settles, refunds with a plain `transfer` (not naming the call), and cites it;
 * - `charged-false-then-settle`: answers EXECUTION_FAILED "charged: false", then settles the payment anyway.
 */
export type SellerLie =
  | 'fake-hash'
  | 'wrong-hash'
  | 'settle-then-fail'
  | 'over-price'
  | 'cite-refund'
  | 'unbound-refund'
  | 'charged-false-then-settle'

export interface HostileSeller {
  node: X402Node
  payTo: Address
  /** What it advertises (a listing would carry this). */
  requirements: PaymentRequirements
  /** Transactions it submitted. */
  settled: Hex[]
  /** What it does with the next paid call (changeable between calls). */
  lie: SellerLie
  /** For `cite-refund`: the transaction it cites as the refund. */
  cite?: () => Hex
  stop(): Promise<void>
}

/** A seller speaking `/x402/libp2p/2.0.0` by hand, lying as `lie` says; it settles with `wallet` when it settles. */
export async function startHostileSeller(
  chain: Chain,
  wallet: LocalAccount,
  lie: SellerLie,
  price: bigint,
  maxTimeoutSeconds = 60
): Promise<HostileSeller> {
  // Its own x402 services listen elsewhere: the hand-written handler takes the real protocol id.
  const node = await createNode({ server: { protocolPrefix: '/unused' } })
  const requirements = buildRequirements({ amount: price, maxTimeoutSeconds }, chain.asset, wallet.address)
  const asked =
    lie === 'over-price'
      ? buildRequirements({ amount: 2n * price, maxTimeoutSeconds }, chain.asset, wallet.address)
      : requirements
  const writer = createWalletClient({
    account: wallet,
    chain: chain.devnet.chain,
    transport: http(chain.devnet.rpcUrl)
  })
  const settled: Hex[] = []
  const seller: HostileSeller = {
    node,
    payTo: wallet.address,
    requirements,
    settled,
    lie,
    async stop() {
      await node.stop()
    }
  }

  async function settle(payment: Uint8Array): Promise<Hex> {
    const { authorization, signature } = parseExactPayment(payment)
    const hash = await writer.sendTransaction({
      to: chain.asset.address,
      data: transferCalldata(authorization, signature, false)!,
      gas: 150_000n
    })
    settled.push(hash)
    await chain.client.waitForTransactionReceipt({ hash, pollingInterval: 20 })
    return hash
  }

  await node.handle(X402_PROTOCOL, async (stream) => {
    const channel = new Channel(stream, { maxBodySize: 1 << 20, frameTimeoutMs: 30_000 })
    try {
      let msg: WireMessage = await channel.read()
      const { correlationId } = msg
      if (msg.type === 'REQUEST') {
        await channel.write({
          type: 'PAYMENT_REQUIRED',
          correlationId,
          paymentRequired: {
            paymentRequired: jsonBytes({
              x402Version: X402_VERSION,
              resource: { url: `libp2p://${node.peerId}/job` },
              accepts: [asked]
            }),
            challenge: crypto.getRandomValues(new Uint8Array(32)),
            expiresAt: BigInt(Math.floor(Date.now() / 1000) + 120)
          }
        })
        msg = await channel.read()
      }
      if (msg.type !== 'PAID_REQUEST') throw new Error(`unexpected ${msg.type}`)
      const body = new TextEncoder().encode('a result')
      const respond = (transaction: string) =>
        channel.write({
          type: 'RESPONSE',
          correlationId,
          response: {
            body,
            final: true,
            contentType: '',
            settlement: jsonBytes({ success: true, transaction, network: chain.asset.network })
          }
        })
      const executionFailed = (details: Record<string, unknown>) =>
        channel.write({
          type: 'ERROR',
          correlationId,
          error: {
            code: 3000,
            name: 'EXECUTION_FAILED',
            message: 'paid call failed in the handler (Error)',
            retryable: false,
            details: jsonBytes(details)
          }
        })
      const now = seller.lie
      if (now === 'cite-refund') {
        await settle(msg.request.payment)
        await executionFailed({ charged: true, refund: { transaction: seller.cite?.(), amount: price.toString() } })
      } else if (now === 'unbound-refund') {
        await settle(msg.request.payment)
        const { authorization } = parseExactPayment(msg.request.payment)
        const refund = await writer.writeContract({
          address: chain.asset.address,
          abi: erc20Abi,
          functionName: 'transfer',
          args: [authorization.from, price]
        })
        await chain.client.waitForTransactionReceipt({ hash: refund, pollingInterval: 20 })
        await executionFailed({ charged: true, refund: { transaction: refund, amount: price.toString() } })
      } else if (now === 'charged-false-then-settle') {
        await executionFailed({ charged: false })
        setTimeout(() => void settle(msg.request.payment).catch(() => {}), 1_000)
      }
      if (now === 'fake-hash') await respond(toHex(crypto.getRandomValues(new Uint8Array(32))))
      else if (now === 'wrong-hash') {
        await settle(msg.request.payment)
        await respond(toHex(crypto.getRandomValues(new Uint8Array(32))))
      } else if (now === 'settle-then-fail') {
        await settle(msg.request.payment)
        await channel.write({
          type: 'ERROR',
          correlationId,
          error: {
            code: 2007,
            name: 'SETTLEMENT_FAILED',
            message: 'the transfer failed; no money moved',
            retryable: false,
            details: new Uint8Array()
          }
        })
      }
      await channel.close()
    } catch (err) {
      channel.abort(err as Error)
    }
  })
  return seller
}
