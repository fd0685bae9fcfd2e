import { type Address, type Hex, numberToHex, type PublicClient } from 'viem'
import { classifyRpcError, type RpcFailure } from './rpc-errors.ts'
import type { Fees } from './sender.ts'

/** The exact fields of a settlement transaction, as it will be signed. */
export interface SettlementCall {
  from: Address
  to: Address
  data: Hex
  /** Gas limit: the settlement gas cap for this payer. */
  gas: bigint
  fees: Fees
}

/** How a settlement is simulated. */
export interface SimulationOptions {
  /**
   * Run it as if in a block with this timestamp (unix seconds) instead of the latest block's: on a chain that has been
   * idle, the next block's time is now, not the last block's.
   */
  time?: bigint
}

/**
 * Runs the settlement transaction with `eth_call` using **the fields it will be signed with** — sender, gas limit and
 * EIP-1559 fees, so `tx.gasprice` is what it will be on-chain, never 0 — at the latest block. The token checks the
 * EIP-712 signature (ecrecover, or ERC-1271 for a contract payer), the balance, the nonce and the window; a contract
 * payer's `isValidSignature` runs under the real gas cap. Resolves when it would succeed; otherwise resolves with what
 * the node said (a revert, out of gas under the cap, or an infrastructure failure).
 */
export async function simulateSettlement(
  client: PublicClient,
  call: SettlementCall,
  options: SimulationOptions = {}
): Promise<RpcFailure | undefined> {
  const tx = {
    from: call.from,
    to: call.to,
    data: call.data,
    gas: numberToHex(call.gas),
    maxFeePerGas: numberToHex(call.fees.maxFeePerGas),
    maxPriorityFeePerGas: numberToHex(call.fees.maxPriorityFeePerGas)
  }
  try {
    await client.request({
      method: 'eth_call',
      // Block overrides (geth, anvil, reth: the fourth parameter) only when asked for: a node without them may refuse
      // the extra parameter.
      params: (options.time != null ? [tx, 'latest', {}, { time: numberToHex(options.time) }] : [tx, 'latest']) as never
    })
    return undefined
  } catch (err) {
    return classifyRpcError(err)
  }
}

/** x402's `@x402/evm` reason strings for the token's revert messages, so verdicts read as a facilitator's would. */
const REVERTS: Array<[RegExp, string]> = [
  [/authorization is used or canceled/i, 'invalid_exact_evm_nonce_already_used'],
  [/transfer amount exceeds balance|exceeds balance/i, 'invalid_exact_evm_insufficient_balance'],
  [/invalid signature|signature is invalid|ECRecover|invalid signer/i, 'invalid_exact_evm_signature'],
  [/authorization is expired/i, 'invalid_exact_evm_payload_authorization_valid_before'],
  [/authorization is not yet valid/i, 'invalid_exact_evm_payload_authorization_valid_after']
]

/** The x402 reason for a simulated revert (`invalid_exact_evm_transaction_simulation_failed` when none fits). */
export function revertToReason(message: string): string {
  return REVERTS.find(([re]) => re.test(message))?.[1] ?? 'invalid_exact_evm_transaction_simulation_failed'
}
