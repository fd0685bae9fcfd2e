import { readdirSync, readFileSync } from 'node:fs'
import type { PaymentRequirements } from '@x402/core/types'
import { privateKeyToAccount } from 'viem/accounts'
import { signExactPayment } from '../../src/client/sign.ts'
import { buildRequirements } from '../../src/index.ts'
import { jsonBytes } from '../../src/json.ts'
import { decodeV1Frame } from '../../src/v1/frame.ts'
import { encodeWireMessage, type WireMessage } from '../../src/wire.ts'

/** Valid inputs of the x402 decoders, built with the package's own encoders or read from the Go vectors. */

export const asset = {
  network: 'eip155:31337' as const,
  address: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as const,
  name: 'USD Coin',
  version: '2'
}
export const payTo = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as const
export const offered: PaymentRequirements = buildRequirements({ amount: 10_000n }, asset, payTo)
export const policy = { maxAmount: 10_000n, payTo, asset, maxTimeoutSeconds: 300 }

/** Anvil's second well-known key: a buyer. */
const buyer = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d')
const nonce = `0x${'ab'.repeat(32)}` as const

const utf8 = new TextEncoder()
const json = (value: unknown): Uint8Array => utf8.encode(JSON.stringify(value))

/** A signed x402 v2 payment payload for {@link offered} (the bytes a PAID_REQUEST carries). */
export async function paymentSeed(): Promise<Uint8Array> {
  return jsonBytes(await signExactPayment(buyer, offered, nonce, { now: 1_800_000_000 }))
}

/** The x402 v2 PaymentRequired a seller sends. */
export const paymentRequiredSeed = json({
  x402Version: 2,
  error: 'payment required',
  resource: { url: 'libp2p://12D3KooW/job', description: 'a job', mimeType: 'application/json' },
  accepts: [offered]
})

/** A SettleResponse of a settled paid call. */
export const settlementSeed = json({
  success: true,
  transaction: `0x${'12'.repeat(32)}`,
  network: asset.network,
  payer: buyer.address
})

/** ERROR details as a stateless resource sends them (a PaymentRequired), and a pending settlement's. */
export const detailsSeeds = [paymentRequiredSeed, json({ transaction: `0x${'34'.repeat(32)}`, retryAfterMs: 1000 })]

/** One `/x402/libp2p/2.0.0` frame of each type (without the length prefix). */
export async function frameSeeds(): Promise<Uint8Array[]> {
  const payment = await paymentSeed()
  const body = utf8.encode('{"text":"hello"}')
  const frames: WireMessage[] = [
    { type: 'REQUEST', correlationId: 'c-1', request: { resource: 'job', body, contentType: 'application/json' } },
    {
      type: 'PAID_REQUEST',
      correlationId: 'c-1',
      request: { resource: 'job', body, contentType: 'application/json', payment }
    },
    ...[1_800_000_000n, 2n ** 31n, 2n ** 32n - 1n].map(
      (expiresAt): WireMessage => ({
        type: 'PAYMENT_REQUIRED',
        correlationId: 'c-1',
        paymentRequired: { paymentRequired: paymentRequiredSeed, challenge: new Uint8Array(32).fill(7), expiresAt }
      })
    ),
    {
      type: 'RESPONSE',
      correlationId: 'c-1',
      response: { body, final: true, settlement: settlementSeed, contentType: 'application/json' }
    },
    {
      type: 'ERROR',
      correlationId: 'c-1',
      error: { code: 2000, name: 'PAYMENT_REQUIRED', message: 'pay', retryable: true, details: paymentRequiredSeed }
    }
  ]
  return frames.map(encodeWireMessage)
}

const v1Dir = new URL('../fixtures/v1/', import.meta.url)

/** The Go prototype's `/x402/libp2p/1.0.0` frames (byte-exact vectors). */
export function v1FrameSeeds(): Uint8Array[] {
  return readdirSync(v1Dir)
    .filter((n) => n.endsWith('.bin'))
    .sort()
    .map((n) => new Uint8Array(readFileSync(new URL(n, v1Dir))))
}

/** The JSON data of the Go frames of the given types. */
export function v1JsonSeeds(types: readonly string[]): Uint8Array[] {
  return v1FrameSeeds()
    .map((bytes) => decodeV1Frame(bytes))
    .filter((f) => types.includes(f.type))
    .map((f) => f.data)
}
