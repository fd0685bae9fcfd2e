import { X402ClientImpl } from './client.ts'
import type { X402Client, X402ClientComponents, X402ClientInit } from './types.ts'

/**
 * The buyer side of x402 over libp2p as a libp2p service. It signs only what the caller approved (amount cap,
 * expected payee, asset and network, timeout cap, budget) and never pays twice for one call (spec §6, §4.4).
 *
 * @example
 * ```ts
 * const node = await createLibp2p({ …, services: { x402: x402Client({ signer: account, asset: usdc }) } })
 * const result = await node.services.x402.call(sellerAddr, 'echo', body, { maxAmount: 10_000n, payTo: seller })
 * ```
 */
export function x402Client(init: X402ClientInit = {}): (components: X402ClientComponents) => X402Client {
  return (components) => new X402ClientImpl(components, init)
}

export { approve, type PaymentPolicy } from './approval.ts'
export { type BudgetInit, SpendingBudget } from './budget.ts'
export { type PaymentSigner, signExactPayment } from './sign.ts'
export type * from './types.ts'
