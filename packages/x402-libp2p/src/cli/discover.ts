import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Address } from 'viem'
import { RawExchange } from '../conformance/exchange.ts'
import { describeOutcome, readOutcome } from '../conformance/outcome.ts'
import type { ConformanceTarget } from '../conformance/types.ts'
import { X402_PROTOCOL } from '../constants.ts'
import { parsePaymentRequiredBytes } from '../payment.ts'

/** The target could not be probed for its paid resource (not x402, wrong chain, unreachable). */
export class DiscoveryError extends Error {
  static override name = 'DiscoveryError'
  constructor(message = 'could not discover the paid resource') {
    super(message)
    this.name = 'DiscoveryError'
  }
}

export interface DiscoverOptions {
  node: Libp2p
  peer: Multiaddr
  protocol?: string
  resource: string
  chainId: number
  amount?: bigint
  payTo?: Address
  asset?: Address
  signal: AbortSignal
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase()

/**
 * Asks the target for the paid resource once (REQUEST → PAYMENT_REQUIRED) and returns what the suite needs: the
 * `exact` requirement on the RPC's chain (and matching --amount/--pay-to/--asset when given).
 */
export async function discoverPaid(o: DiscoverOptions): Promise<ConformanceTarget['paid']> {
  let stream: Awaited<ReturnType<Libp2p['dialProtocol']>>
  try {
    stream = await o.node.dialProtocol(o.peer, o.protocol ?? X402_PROTOCOL, { signal: o.signal })
  } catch (err) {
    throw new DiscoveryError(`cannot open ${o.protocol ?? X402_PROTOCOL} to the target: ${(err as Error).message}`)
  }
  const exchange = new RawExchange(stream, o.signal)
  try {
    const correlationId = crypto.randomUUID()
    const body = new TextEncoder().encode(`x402 conformance discovery ${correlationId}`)
    await exchange.send({ type: 'REQUEST', correlationId, request: { resource: o.resource, body, contentType: '' } })
    const outcome = await readOutcome(exchange, correlationId)
    if (outcome.kind !== 'payment-required') {
      throw new DiscoveryError(
        `REQUEST for "${o.resource}": expected PAYMENT_REQUIRED, got ${describeOutcome(outcome)}`
      )
    }
    const required = parsePaymentRequiredBytes(outcome.paymentRequired.paymentRequired)
    const network = `eip155:${o.chainId}` as const
    const found = required.accepts.find(
      (r) =>
        r.scheme === 'exact' &&
        r.network === network &&
        (o.amount == null || r.amount === o.amount.toString()) &&
        (o.payTo == null || same(r.payTo, o.payTo)) &&
        (o.asset == null || same(r.asset, o.asset))
    )
    if (found == null) {
      throw new DiscoveryError(
        `"${o.resource}" offers no exact requirement on ${network} matching the flags: ${JSON.stringify(required.accepts)}`
      )
    }
    const extra = (found.extra ?? {}) as { name?: unknown; version?: unknown }
    if (typeof extra.name !== 'string' || typeof extra.version !== 'string') {
      throw new DiscoveryError(`the requirement has no EIP-712 extra.name/extra.version: ${JSON.stringify(found)}`)
    }
    return {
      resource: o.resource,
      amount: BigInt(found.amount),
      payTo: found.payTo as Address,
      asset: { network, address: found.asset as Address, name: extra.name, version: extra.version }
    }
  } catch (err) {
    if (err instanceof DiscoveryError) throw err
    throw new DiscoveryError(`probing "${o.resource}": ${(err as Error).message}`)
  } finally {
    exchange.abort()
  }
}
