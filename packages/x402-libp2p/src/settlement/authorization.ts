import type { AbortOptions } from '@libp2p/interface'
import type { PaymentRequirements, SettleResponse } from '@x402/core/types'
import { type Address, getAddress, type Hex, type PublicClient, parseEventLogs, type TransactionReceipt } from 'viem'
import { eip3009EventsAbi } from './abi.ts'
import { SettlerUnavailableError } from './settler.ts'

/** The parts of an EIP-3009 authorization that identify it on-chain and bound its life. */
export interface AuthorizationRef {
  from: Address
  nonce: Hex
  /** Unix seconds (decimal string): the token refuses the authorization in any block at or after it. */
  validBefore: string
}

/**
 * What the chain says about an authorization at its latest block (EIP-3009 §"authorizationState"):
 * - `used`: a confirmed transaction used it; `settlement` names it. The authorization's `to` and `value` are signed, so
 *   its use **is** the payment — whoever submitted it (the seller, a facilitator, the buyer, a front-runner);
 * - `canceled`: the payer cancelled it (`cancelAuthorization`): nothing moved and nothing can;
 * - `unused`: not used as of that block; `expired` when the block's timestamp is at or past `validBefore`, so no
 *   later block can use it either.
 */
export type AuthorizationFacts =
  | { state: 'used'; settlement: SettleResponse }
  | { state: 'canceled' }
  | { state: 'unused'; expired: boolean; blockNumber: bigint; blockTimestamp: bigint }

/** How far back the lookups search for the transaction that used an authorization (≈ 5.5 h of Base blocks). */
export const DEFAULT_LOOKBACK_BLOCKS = 10_000n

/**
 * The x402 SettleResponse for a receipt, if it is a successful transaction carrying the token's
 * `Transfer(from → payTo, amount)`; `undefined` otherwise.
 */
export function settlementFromReceipt(
  receipt: TransactionReceipt,
  requirements: PaymentRequirements,
  from: Address
): SettleResponse | undefined {
  if (receipt.status !== 'success') return undefined
  const asset = getAddress(requirements.asset)
  const paid = parseEventLogs({ abi: eip3009EventsAbi, eventName: 'Transfer', logs: receipt.logs, strict: true }).some(
    (t) =>
      getAddress(t.address) === asset &&
      getAddress(t.args.from) === getAddress(from) &&
      getAddress(t.args.to) === getAddress(requirements.payTo) &&
      t.args.value === BigInt(requirements.amount)
  )
  if (!paid) return undefined
  return {
    success: true,
    transaction: receipt.transactionHash,
    network: requirements.network as SettleResponse['network'],
    payer: getAddress(from)
  }
}

/**
 * Reads an authorization's state at the latest block, and for a used one the transaction that used it (by the
 * token's `AuthorizationUsed(authorizer, nonce)` log). Throws {@link SettlerUnavailableError} when the chain could not
 * be read, or when the authorization is used but neither its `AuthorizationUsed` nor its `AuthorizationCanceled` log
 * is within `lookbackBlocks` (the outcome is then unknown, never guessed).
 */
export async function readAuthorization(
  client: PublicClient,
  requirements: PaymentRequirements,
  authorization: AuthorizationRef,
  options: AbortOptions & { lookbackBlocks?: bigint } = {}
): Promise<AuthorizationFacts> {
  options.signal?.throwIfAborted()
  const asset = getAddress(requirements.asset)
  const args = { authorizer: authorization.from, nonce: authorization.nonce }
  try {
    const block = await client.getBlock({ blockTag: 'latest' })
    const used = await client.readContract({
      address: asset,
      abi: eip3009EventsAbi,
      functionName: 'authorizationState',
      args: [authorization.from, authorization.nonce],
      blockNumber: block.number
    })
    if (!used) {
      return {
        state: 'unused',
        expired: block.timestamp >= BigInt(authorization.validBefore),
        blockNumber: block.number,
        blockTimestamp: block.timestamp
      }
    }
    const lookback = options.lookbackBlocks ?? DEFAULT_LOOKBACK_BLOCKS
    const range = { fromBlock: block.number > lookback ? block.number - lookback : 0n, toBlock: block.number }
    const usedLogs = await client.getContractEvents({
      address: asset,
      abi: eip3009EventsAbi,
      eventName: 'AuthorizationUsed',
      args,
      ...range,
      strict: true
    })
    const hit = usedLogs[0]
    if (hit != null) {
      const receipt = await client.getTransactionReceipt({ hash: hit.transactionHash })
      const settlement = settlementFromReceipt(receipt, requirements, authorization.from)
      // Cannot happen with a conforming EIP-3009 token (the transfer is what uses the authorization): never guess.
      if (settlement == null)
        throw new Error(`authorization used by ${hit.transactionHash} without the signed transfer`)
      return { state: 'used', settlement }
    }
    const canceled = await client.getContractEvents({
      address: asset,
      abi: eip3009EventsAbi,
      eventName: 'AuthorizationCanceled',
      args,
      ...range,
      strict: true
    })
    if (canceled.length > 0) return { state: 'canceled' }
    throw new Error('authorization used, but no AuthorizationUsed/AuthorizationCanceled log within the lookback')
  } catch (err) {
    if (err instanceof SettlerUnavailableError) throw err
    throw new SettlerUnavailableError(`could not read the authorization on-chain: ${(err as Error).message}`, {
      cause: err
    })
  }
}
