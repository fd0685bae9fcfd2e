import type { PaymentRequirements } from '@x402/core/types'
import { type Hex, toHex } from 'viem'
import { Channel } from '../../src/channel.ts'
import { type PaymentSigner, signExactPayment, X402_PROTOCOL } from '../../src/index.ts'
import { jsonBytes } from '../../src/json.ts'
import { parsePaymentRequiredBytes } from '../../src/payment.ts'
import type { WireMessage } from '../../src/wire.ts'
import type { X402Node } from '../fixtures/nodes.ts'

/** Sends `frames` on one new raw `/x402/libp2p/2.0.0` stream, reading one answer per frame. */
export async function rawExchange(dialer: X402Node, seller: X402Node, frames: WireMessage[]): Promise<WireMessage[]> {
  const stream = await dialer.dialProtocol(seller.getMultiaddrs(), X402_PROTOCOL)
  const channel = new Channel(stream, { maxBodySize: 1 << 22, frameTimeoutMs: 30_000 })
  const out: WireMessage[] = []
  for (const frame of frames) {
    await channel.write(frame)
    out.push(await channel.read())
  }
  stream.abort(new Error('done'))
  return out
}

/** A signed PAID_REQUEST for a challenge, ready to send. */
export interface SignedCall {
  paid: WireMessage
  /** The challenge: the EIP-3009 nonce signed. */
  nonce: Hex
  requirements: PaymentRequirements
}

/** REQUEST → PAYMENT_REQUIRED for `resource`, then the PAID_REQUEST `signer` signs for the challenge (not yet sent). */
export async function challengeAndSign(
  dialer: X402Node,
  seller: X402Node,
  correlationId: string,
  signer: PaymentSigner,
  resource = 'job'
): Promise<SignedCall> {
  const body = new TextEncoder().encode(correlationId)
  const [reply] = await rawExchange(dialer, seller, [
    { type: 'REQUEST', correlationId, request: { resource, body, contentType: '' } }
  ])
  if (reply?.type !== 'PAYMENT_REQUIRED') throw new Error(`expected PAYMENT_REQUIRED, got ${reply?.type}`)
  const requirements = parsePaymentRequiredBytes(reply.paymentRequired.paymentRequired)
    .accepts[0] as PaymentRequirements
  const nonce = toHex(reply.paymentRequired.challenge) as Hex
  const payload = await signExactPayment(signer, requirements, nonce)
  return {
    nonce,
    requirements,
    paid: {
      type: 'PAID_REQUEST',
      correlationId,
      request: { resource, body, contentType: '', payment: jsonBytes(payload) }
    }
  }
}
