import type { AbortOptions } from '@libp2p/interface'
import type { PaymentRequirements, SettleResponse } from '@x402/core/types'
import {
  type Address,
  getAddress,
  type Hex,
  type Log,
  type PublicClient,
  pad,
  parseEventLogs,
  type TransactionReceipt,
  toEventSelector
} from 'viem'
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
 * What the chain says about an authorization at its latest block (EIP-3009 `authorizationState`, and the logs):
 * - `used`: a confirmed transaction used **this** authorization and its transfer paid `payTo` the amount; `settlement`
 *   names it — whoever submitted it (the seller, a facilitator, the buyer, a front-runner);
 * - `consumed`: the payer's nonce is spent **without** paying `payTo`: the payer cancelled it (`cancelAuthorization`)
 *   or used the same nonce in another authorization of its own. Nothing moved for this call and nothing can;
 * - `unused`: not used as of that block; `expired` when the block's timestamp is at or past `validBefore`, so no
 *   later block can use it either.
 */
export type AuthorizationFacts =
  | { state: 'used'; settlement: SettleResponse }
  | { state: 'consumed'; by: 'cancel' | 'other'; transaction?: Hex }
  | { state: 'unused'; expired: boolean; blockNumber: bigint; blockTimestamp: bigint }

/** How far back the lookups search for the transaction that used an authorization (≈ 5.5 h of Base blocks). */
export const DEFAULT_LOOKBACK_BLOCKS = 10_000n

/** Blocks per `eth_getLogs` request; halved (down to one block) when the node refuses the range. */
const LOG_CHUNK_BLOCKS = 2_000n
const MIN_LOG_CHUNK_BLOCKS = 1n

/** How providers word a refused `eth_getLogs` range or result size (Alchemy, Infura, QuickNode, Ankr, geth). */
const RANGE_REFUSED = /range|too many|too large|too wide|limit|exceed|more than/i

/**
 * The x402 SettleResponse for a receipt if it is a successful transaction in which **this** authorization paid:
 * the token's `AuthorizationUsed(from, nonce)` log immediately followed by its `Transfer(from → payTo, amount)` log —
 * the order in which FiatToken's `_transferWithAuthorization` emits them. Any other transfer in the same transaction
 * (a batch can carry several) does not count. `undefined` otherwise.
 */
export function settlementFromReceipt(
  receipt: TransactionReceipt,
  requirements: PaymentRequirements,
  authorization: { from: Address; nonce: Hex }
): SettleResponse | undefined {
  if (receipt.status !== 'success') return undefined
  const asset = requirements.asset.toLowerCase()
  const logs = receipt.logs.filter((l) => l.address.toLowerCase() === asset)
  const from = getAddress(authorization.from)
  const nonce = authorization.nonce.toLowerCase()
  // Matched on the raw topics first: a batch's receipt carries two logs per member, and every member looks for its own.
  const authorizer = pad(from.toLowerCase() as Hex)
  for (let i = 0; i < logs.length - 1; i++) {
    const topics = (logs[i] as Log).topics
    if (topics[0] !== AUTHORIZATION_USED || topics[1]?.toLowerCase() !== authorizer) continue
    if (topics[2]?.toLowerCase() !== nonce) continue
    const used = decode(logs[i] as Log, 'AuthorizationUsed')
    if (used == null || getAddress(used.args.authorizer) !== from || used.args.nonce.toLowerCase() !== nonce) continue
    const transfer = decode(logs[i + 1] as Log, 'Transfer')
    const paid =
      transfer != null &&
      getAddress(transfer.args.from) === from &&
      getAddress(transfer.args.to) === getAddress(requirements.payTo) &&
      transfer.args.value === BigInt(requirements.amount)
    if (!paid) return undefined
    return {
      success: true,
      transaction: receipt.transactionHash,
      network: requirements.network as SettleResponse['network'],
      payer: from
    }
  }
  return undefined
}

/** topic0 of `AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce)`. */
const AUTHORIZATION_USED = toEventSelector('AuthorizationUsed(address,bytes32)')

/** The `details` text of a viem error chain (where a node's own words are). */
function describe(err: unknown): string {
  const parts: string[] = []
  for (let e = err as { details?: unknown; cause?: unknown } | undefined, i = 0; e != null && i < 6; i++) {
    if (typeof e.details === 'string') parts.push(e.details)
    e = e.cause as typeof e
  }
  return parts.join(' ')
}

function decode<N extends 'AuthorizationUsed' | 'Transfer'>(log: Log, eventName: N) {
  return parseEventLogs({ abi: eip3009EventsAbi, eventName, logs: [log], strict: true })[0]
}

/**
 * Finds the first log of `eventName` for `args` within `lookback` blocks below `latest`, newest window first, in
 * windows the node accepts (a provider's `eth_getLogs` range cap halves the window).
 */
async function findLog(
  client: PublicClient,
  address: Address,
  eventName: 'AuthorizationUsed' | 'AuthorizationCanceled',
  args: { authorizer: Address; nonce: Hex },
  latest: bigint,
  lookback: bigint
): Promise<Hex | undefined> {
  const floor = latest > lookback ? latest - lookback : 0n
  let chunk = LOG_CHUNK_BLOCKS
  for (let to = latest; to >= floor; ) {
    const from = to - chunk + 1n > floor ? to - chunk + 1n : floor
    let logs: Array<{ transactionHash: Hex | null }>
    try {
      logs = await client.getContractEvents({
        address,
        abi: eip3009EventsAbi,
        eventName,
        args,
        fromBlock: from,
        toBlock: to,
        strict: true
      })
    } catch (err) {
      if (chunk > MIN_LOG_CHUNK_BLOCKS && RANGE_REFUSED.test(`${(err as Error).message} ${describe(err)}`)) {
        chunk /= 2n
        continue
      }
      throw err
    }
    const hit = logs[0]?.transactionHash
    if (hit != null) return hit
    if (from === floor) break
    to = from - 1n
  }
  return undefined
}

/**
 * Reads an authorization's state at the latest block and, for a spent nonce, the transaction that spent it.
 * Throws {@link SettlerUnavailableError} when the chain could not be read, or when the nonce is spent but neither its
 * `AuthorizationUsed` nor its `AuthorizationCanceled` log is within `lookbackBlocks` (the outcome is then unknown,
 * never guessed).
 */
export async function readAuthorization(
  client: PublicClient,
  requirements: PaymentRequirements,
  authorization: AuthorizationRef,
  options: AbortOptions & { lookbackBlocks?: bigint } = {}
): Promise<AuthorizationFacts> {
  options.signal?.throwIfAborted()
  const asset = getAddress(requirements.asset)
  const args = { authorizer: getAddress(authorization.from), nonce: authorization.nonce }
  try {
    const block = await client.getBlock({ blockTag: 'latest' })
    const spent = await client.readContract({
      address: asset,
      abi: eip3009EventsAbi,
      functionName: 'authorizationState',
      args: [args.authorizer, args.nonce],
      blockNumber: block.number
    })
    if (!spent) {
      return {
        state: 'unused',
        expired: block.timestamp >= BigInt(authorization.validBefore),
        blockNumber: block.number,
        blockTimestamp: block.timestamp
      }
    }
    const lookback = options.lookbackBlocks ?? DEFAULT_LOOKBACK_BLOCKS
    const usedBy = await findLog(client, asset, 'AuthorizationUsed', args, block.number, lookback)
    if (usedBy != null) {
      const receipt = await client.getTransactionReceipt({ hash: usedBy })
      const settlement = settlementFromReceipt(receipt, requirements, authorization)
      // The nonce was spent by another authorization of the payer (same nonce, another payee or amount).
      return settlement != null
        ? { state: 'used', settlement }
        : { state: 'consumed', by: 'other', transaction: usedBy }
    }
    const canceledBy = await findLog(client, asset, 'AuthorizationCanceled', args, block.number, lookback)
    if (canceledBy != null) return { state: 'consumed', by: 'cancel', transaction: canceledBy }
    throw new Error('authorization spent, but no AuthorizationUsed/AuthorizationCanceled log within the lookback')
  } catch (err) {
    if (err instanceof SettlerUnavailableError) throw err
    throw new SettlerUnavailableError(`could not read the authorization on-chain: ${(err as Error).message}`, {
      cause: err
    })
  }
}
