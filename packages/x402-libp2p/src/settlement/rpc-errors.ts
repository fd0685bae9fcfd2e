import { BaseError } from 'viem'

/**
 * What a failed JSON-RPC request says about the chain (spec §7.3):
 *
 * - `revert`: the EVM ran the call and it reverted — a verdict about the payment;
 * - `out-of-gas`: the call needs more gas than was allowed (the settlement gas cap);
 * - `nonce-too-low`, `already-known`, `underpriced`: the node's answer to a broadcast whose nonce is taken, that it
 *   already holds, or that does not outbid a transaction with the same nonce;
 * - `fee-too-low`: the transaction's fee cap is below what the next block (or the pool) requires: it was not taken;
 * - `no-gas-funds`: the sender cannot pay for gas;
 * - `infrastructure`: anything else — no answer, an HTTP error, a timeout, an internal or rate-limit error. The
 *   outcome of the request is unknown; it says nothing about the payment.
 */
export type RpcFailureKind =
  | 'revert'
  | 'out-of-gas'
  | 'nonce-too-low'
  | 'already-known'
  | 'underpriced'
  | 'fee-too-low'
  | 'no-gas-funds'
  | 'infrastructure'

export interface RpcFailure {
  kind: RpcFailureKind
  /** The node's own words (revert reason, rejection text), one line; never a local path or stack. */
  message: string
}

/** JSON-RPC code of a revert (EIP-1474 extension used by geth, anvil, reth). */
const EXECUTION_REVERTED = 3

const PATTERNS: Array<[RpcFailureKind, RegExp]> = [
  // (anvil, reth and other revm nodes answer an eth_call that ran out of gas with -32603 "EVM error OutOfGas")
  ['out-of-gas', /gas required exceeds allowance|out of gas|OutOfGas/i],
  ['revert', /execution reverted|reverted|VM execution error|invalid opcode/i],
  ['nonce-too-low', /nonce too low|nonce has already been used|invalid nonce|NonceTooLow|OldNonce/i],
  ['already-known', /already known|already imported|known transaction|AlreadyKnown/i],
  ['underpriced', /replacement transaction underpriced|replacement fee too low|ReplacementUnderpriced/i],
  ['fee-too-low', /less than block base fee|fee cap less than|feecap too low|underpriced|fee too low|FeeTooLow/i],
  ['no-gas-funds', /insufficient funds for gas|insufficient funds for transfer|InsufficientFunds/i]
]

/** The JSON-RPC error code and texts found along a viem error's cause chain. */
function rpcDetails(err: unknown): { code: number | undefined; texts: string[]; transport: boolean } {
  const texts: string[] = []
  let code: number | undefined
  let transport = false
  let current: unknown = err
  for (let depth = 0; current != null && depth < 8; depth++) {
    const e = current as { name?: string; code?: unknown; details?: unknown; shortMessage?: unknown; message?: unknown }
    if (e.name === 'HttpRequestError' || e.name === 'TimeoutError' || e.name === 'WebSocketRequestError') {
      transport = true
    }
    if (typeof e.code === 'number' && code == null && !(e.name === 'HttpRequestError')) code = e.code
    if (typeof e.details === 'string') texts.push(e.details)
    if (!(current instanceof BaseError) && typeof e.message === 'string') texts.push(e.message)
    current = (current as { cause?: unknown }).cause
  }
  return { code, texts, transport }
}

/** Classifies an error thrown by a viem request (spec §7.3: which outcomes are verdicts and which are unknown). */
export function classifyRpcError(err: unknown): RpcFailure {
  const { code, texts, transport } = rpcDetails(err)
  const text = texts.join(' | ')
  const message = (texts[0] ?? 'unknown error').split('\n')[0]?.slice(0, 300) ?? ''
  if (transport) return { kind: 'infrastructure', message }
  if (code === EXECUTION_REVERTED) {
    return { kind: /gas required exceeds allowance|out of gas|OutOfGas/i.test(text) ? 'out-of-gas' : 'revert', message }
  }
  for (const [kind, re] of PATTERNS) if (re.test(text)) return { kind, message }
  return { kind: 'infrastructure', message }
}
