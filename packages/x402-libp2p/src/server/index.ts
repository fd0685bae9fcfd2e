import { X402ServerImpl } from './server.ts'
import type { X402Server, X402ServerComponents, X402ServerInit } from './types.ts'

/**
 * The seller side of x402 over libp2p as a libp2p service: serves `/x402/libp2p/2.0.0`, answers requests for paid
 * resources with a challenge, verifies, settles and then runs the handler (spec §5).
 *
 * @example
 * ```ts
 * const node = await createLibp2p({
 *   // …transports, encrypters, muxers, datastore…
 *   services: { x402: x402Server({ settler: localSettler({ walletClient }), asset: usdc }) }
 * })
 * node.services.x402.register('echo', { price: { amount: 10_000n }, handler: (req) => req.body })
 * ```
 */
export function x402Server(init: X402ServerInit = {}): (components: X402ServerComponents) => X402Server {
  return (components) => new X402ServerImpl(components, init)
}

export type * from './types.ts'
