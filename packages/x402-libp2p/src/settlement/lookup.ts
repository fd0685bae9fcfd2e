import type { AbortOptions } from '@libp2p/interface'
import type { PaymentRequirements, SettleResponse } from '@x402/core/types'
import { type Address, getAddress, type Hex, type PublicClient, parseEventLogs } from 'viem'
import { eip3009EventsAbi } from './abi.ts'

/** How far back the recovery lookup searches for the settlement's logs (≈ 5.5 h of Base blocks). */
const LOOKBACK_BLOCKS = 10_000n

/**
 * Finds the confirmed transaction that used an EIP-3009 authorization, by the token's `AuthorizationUsed(authorizer,
 * nonce)` log, and checks it carried `Transfer(from, payTo, amount)`. Returns `undefined` when the authorization is
 * unused (or was cancelled).
 */
export async function findAuthorizationTransfer(
  client: PublicClient,
  requirements: PaymentRequirements,
  authorization: { from: Address; nonce: Hex },
  options: AbortOptions & { fromBlock?: bigint } = {}
): Promise<SettleResponse | undefined> {
  options.signal?.throwIfAborted()
  const asset = getAddress(requirements.asset)
  // One cheap view first: most lookups are for authorizations that were never used.
  const state = await client.readContract({
    address: asset,
    abi: eip3009EventsAbi,
    functionName: 'authorizationState',
    args: [authorization.from, authorization.nonce]
  })
  if (!state) return undefined
  // Public RPCs bound log queries; an authorization is only valid for minutes, so a recent window suffices.
  const latest = await client.getBlockNumber()
  const fromBlock = options.fromBlock ?? (latest > LOOKBACK_BLOCKS ? latest - LOOKBACK_BLOCKS : 0n)
  const used = await client.getContractEvents({
    address: asset,
    abi: eip3009EventsAbi,
    eventName: 'AuthorizationUsed',
    args: { authorizer: authorization.from, nonce: authorization.nonce },
    fromBlock,
    toBlock: latest,
    strict: true
  })
  const hit = used[0]
  if (hit?.transactionHash == null) return undefined
  const receipt = await client.getTransactionReceipt({ hash: hit.transactionHash })
  const transfers = parseEventLogs({ abi: eip3009EventsAbi, eventName: 'Transfer', logs: receipt.logs, strict: true })
  const paid = transfers.some(
    (t) =>
      getAddress(t.address) === asset &&
      getAddress(t.args.from) === getAddress(authorization.from) &&
      getAddress(t.args.to) === getAddress(requirements.payTo) &&
      t.args.value === BigInt(requirements.amount)
  )
  if (receipt.status !== 'success' || !paid) return undefined
  return {
    success: true,
    transaction: receipt.transactionHash,
    network: requirements.network as SettleResponse['network'],
    payer: getAddress(authorization.from)
  }
}
