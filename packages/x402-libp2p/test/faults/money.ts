import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { SettleResponse } from '@x402/core/types'
import type { Datastore } from 'interface-datastore'
import { type Address, getAddress } from 'viem'
import { expect } from 'vitest'
import { type CallOptions, type CallResult, type X402Client, X402Error } from '../../src/index.ts'
import { type AuthorizationRef, readAuthorization } from '../../src/settlement/authorization.ts'
import type { CallRecord } from '../../src/store/records.ts'
import type { WireMessage } from '../../src/wire.ts'
import type { Chain } from '../fixtures/chain.ts'

/** One paid call of a scenario, as the buyer saw it. */
export interface PaidCallLog {
  buyer: Address
  correlationId: string
  price: bigint
  /** The result, once the buyer received it (directly or by re-ask). */
  result?: CallResult
  /** The terminal error, when the call ended without a result. */
  error?: unknown
  /** How many times the buyer asked (1 = no re-ask). */
  asks: number
}

/** Whether a failed call may still end with a result: the buyer re-asks with the same correlation id. */
function worthReasking(err: unknown): boolean {
  if (err instanceof X402Error) return err.retryable && err.codeName !== 'RATE_LIMITED'
  return true // interrupted stream, timeout, dial failure: the outcome is unknown
}

/**
 * Calls `resource` and re-asks with the same correlation id (the client re-sends the same signed payment) until the
 * buyer holds a result or a terminal error, or `deadlineMs` passes — what a buyer does after a failure.
 */
export async function callUntilOutcome(
  client: X402Client,
  buyer: Address,
  target: PeerId | Multiaddr | Multiaddr[] | (() => Multiaddr[]),
  resource: string,
  body: Uint8Array,
  options: CallOptions & { correlationId: string; maxAmount: bigint },
  retry: { deadlineMs?: number; pauseMs?: number } = {}
): Promise<PaidCallLog> {
  const deadline = Date.now() + (retry.deadlineMs ?? 60_000)
  const log: PaidCallLog = { buyer, correlationId: options.correlationId, price: options.maxAmount, asks: 0 }
  for (;;) {
    log.asks++
    try {
      const to = typeof target === 'function' ? target() : target
      log.result = await client.call(to, resource, body, options)
      delete log.error
      return log
    } catch (err) {
      log.error = err
      if (!worthReasking(err) || Date.now() > deadline) return log
      await new Promise((resolve) => setTimeout(resolve, retry.pauseMs ?? 250))
    }
  }
}

/** The result a raw final RESPONSE frame carries, as the client would report it. */
export function resultOf(frame: Extract<WireMessage, { type: 'RESPONSE' }>): CallResult {
  return {
    body: frame.response.body,
    contentType: frame.response.contentType,
    correlationId: frame.correlationId,
    protocol: '/x402/libp2p/2.0.0',
    amount: 0n,
    ...(frame.response.settlement.byteLength > 0
      ? { settlement: JSON.parse(new TextDecoder().decode(frame.response.settlement)) as SettleResponse }
      : {})
  }
}

/** Every paid-call record a seller's datastore holds. */
export async function sellerRecords(datastore: Datastore): Promise<CallRecord[]> {
  const out: CallRecord[] = []
  for await (const { value } of datastore.query({ prefix: '/betar/x402/calls' })) {
    out.push((JSON.parse(new TextDecoder().decode(value)) as { value: CallRecord }).value)
  }
  return out
}

/**
 * The money invariant over a whole scenario: for every buyer, USDC debited = Σ price of the calls whose result it
 * received (a refunded call counts 0: paid and paid back); no seller record says "void" or "failed" (nothing moved)
 * while the authorization was used on-chain, every "refunded" one names a mined refund; and (when `settled` is set) no
 * record is left non-terminal.
 */
export async function assertMoneyInvariant(
  chain: Chain,
  before: ReadonlyMap<Address, bigint>,
  calls: readonly PaidCallLog[],
  seller?: { datastore: Datastore; settled?: boolean }
): Promise<void> {
  for (const [buyer, start] of before) {
    const received = calls
      .filter((c) => getAddress(c.buyer) === getAddress(buyer) && c.result != null)
      .reduce((sum, c) => sum + c.price, 0n)
    const debited = start - (await chain.balance(buyer))
    expect(debited, `buyer ${buyer}: USDC debited vs Σ price of results received`).toBe(received)
  }
  if (seller == null) return
  for (const record of await sellerRecords(seller.datastore)) {
    const authorization = (record.payment.payload as { authorization: AuthorizationRef }).authorization
    // Whether this very authorization paid the payee (not merely whether its nonce is spent).
    const paid = (await readAuthorization(chain.client, record.requirements, authorization)).state === 'used'
    if (record.state === 'void') {
      expect(paid, `call ${record.correlationId} is void but its transfer exists on-chain`).toBe(false)
    }
    if (record.state === 'done') expect(paid, `call ${record.correlationId} is done but unpaid`).toBe(true)
    if (record.state === 'failed') {
      expect(paid, `call ${record.correlationId} failed unsettled but its transfer exists`).toBe(false)
    }
    if (record.state === 'refunded') {
      expect(paid, `call ${record.correlationId} is refunded but was never paid`).toBe(true)
      const refund = record.refund?.transaction
      expect(refund, `call ${record.correlationId} is refunded without a refund transaction`).toBeDefined()
      const receipt = await chain.client.getTransactionReceipt({ hash: refund as `0x${string}` })
      expect(receipt.status, `refund of ${record.correlationId}`).toBe('success')
    }
    if (seller.settled === true) {
      expect(['done', 'void', 'refunded', 'failed'], `call ${record.correlationId} left ${record.state}`).toContain(
        record.state
      )
    }
  }
}

/** The USDC balances of `buyers` now. */
export async function balances(chain: Chain, buyers: readonly Address[]): Promise<Map<Address, bigint>> {
  return new Map(await Promise.all(buyers.map(async (b) => [b, await chain.balance(b)] as const)))
}

/**
 * What a deferred payer obtained (spec §7.7), from the seller's records and the chain: `paid` — its calls whose
 * transfer exists on-chain; `unpaidDelivered` — results it was given whose transfer does not exist (on credit, or a
 * default). Asserts no record says `done` unpaid or `void`/`failed` paid, and that what was delivered unpaid stays
 * within `creditLimit`.
 */
export async function assertDeferredExposure(
  chain: Chain,
  datastore: Datastore,
  payer: Address,
  creditLimit: bigint
): Promise<{ paid: bigint; unpaidDelivered: bigint }> {
  let paid = 0n
  let unpaidDelivered = 0n
  for (const r of await sellerRecords(datastore)) {
    const a = (r.payment.payload as { authorization: AuthorizationRef }).authorization
    if (getAddress(a.from) !== getAddress(payer)) continue
    const used = (await readAuthorization(chain.client, r.requirements, a)).state === 'used'
    if (used) paid += BigInt(r.requirements.amount)
    if (r.state === 'void' || r.state === 'failed') expect(used, `${r.correlationId} ${r.state} but paid`).toBe(false)
    if (r.state === 'done') expect(used, `${r.correlationId} done but unpaid`).toBe(true)
    if (!used && r.result != null) unpaidDelivered += BigInt(r.requirements.amount)
  }
  expect(unpaidDelivered, `results delivered unpaid to ${payer} vs. the credit limit`).toBeLessThanOrEqual(creditLimit)
  return { paid, unpaidDelivered }
}
