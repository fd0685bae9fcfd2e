import type { AbortOptions } from '@libp2p/interface'
import type { PaymentPayload, PaymentRequirements, SettleResponse, VerifyResponse } from '@x402/core/types'
import {
  type Account,
  type Chain,
  getAddress,
  type Hex,
  type PublicClient,
  parseEventLogs,
  publicActions,
  type Transport,
  type WalletClient
} from 'viem'
import { DEFAULT_SETTLEMENT_TIMEOUT_MS } from '../constants.ts'
import { eip3009EventsAbi } from './abi.ts'
import { type Authorization, transferCalldata } from './eip3009.ts'
import { findAuthorizationTransfer } from './lookup.ts'
import type { Settler } from './settler.ts'
import { Submitter } from './submitter.ts'

/** Options for {@link localSettler}. */
export interface LocalSettlerInit {
  /** The seller's wallet: it submits `transferWithAuthorization` and pays the gas. */
  walletClient: WalletClient<Transport, Chain, Account>
  /** Chain reads (simulation, receipts, recovery); the wallet's own transport when absent. */
  publicClient?: PublicClient
  /** How long to wait for a receipt before reporting `settlement_pending`. @default 30000 */
  confirmationTimeoutMs?: number
  /** Multiplier applied to the simulated gas. @default 1.25 */
  gasMargin?: number
}

/** x402's `@x402/evm` reason strings, so verdicts read the same as a facilitator's. */
const REVERTS: Array<[RegExp, string]> = [
  [/authorization is used or canceled/i, 'invalid_exact_evm_nonce_already_used'],
  [/transfer amount exceeds balance/i, 'invalid_exact_evm_insufficient_balance'],
  [/invalid signature|signature is invalid|ECRecover/i, 'invalid_exact_evm_signature'],
  [/authorization is expired/i, 'invalid_exact_evm_payload_authorization_valid_before'],
  [/authorization is not yet valid/i, 'invalid_exact_evm_payload_authorization_valid_after']
]

/**
 * Settles with the seller's own wallet — no facilitator.
 *
 * Verification follows the order of `@x402/evm`'s exact verifier (scheme, network, recipient, amount, time window,
 * then a simulation of the very transfer, in which the token checks the EIP-712 signature, the balance and the nonce)
 * but does each check once: the simulation is an `eth_estimateGas` whose result is reused to send the transfer. `@x402/evm`'s `ExactEvmScheme` would add two
 * `eth_getCode` calls and, in `settle()`, a second full verification — about 5 extra RPCs and a second signature
 * recovery per paid call (measured in bench/). Payloads accepted here are also accepted by `@x402/evm`'s verifier
 * (test/official-interop.test.ts).
 */
export function localSettler(init: LocalSettlerInit): Settler {
  const wallet = init.walletClient
  const reader: PublicClient = init.publicClient ?? (wallet.extend(publicActions) as unknown as PublicClient)
  const network = `eip155:${wallet.chain.id}`
  const timeoutMs = init.confirmationTimeoutMs ?? DEFAULT_SETTLEMENT_TIMEOUT_MS
  const margin = init.gasMargin ?? 1.25
  const submitter = new Submitter(wallet, reader)
  /** Gas found by verify's simulation, by calldata, for the settle that follows. */
  const simulated = new Map<Hex, bigint>()

  const parts = (payload: PaymentPayload): { a: Authorization; signature: Hex } => {
    const p = payload.payload as { authorization: Authorization; signature: Hex }
    return { a: p.authorization, signature: p.signature }
  }
  const invalid = (reason: string, message?: string, payer?: string): VerifyResponse => ({
    isValid: false,
    invalidReason: reason,
    ...(message != null ? { invalidMessage: message } : {}),
    ...(payer != null ? { payer } : {})
  })

  async function verify(
    payload: PaymentPayload,
    requirements: PaymentRequirements,
    options: AbortOptions = {}
  ): Promise<VerifyResponse> {
    options.signal?.throwIfAborted()
    const { a, signature } = parts(payload)
    const payer = getAddress(a.from)
    if (payload.accepted.scheme !== 'exact' || requirements.scheme !== 'exact')
      return invalid('invalid_exact_evm_scheme')
    if (payload.accepted.network !== requirements.network || requirements.network !== network) {
      return invalid('invalid_exact_evm_network_mismatch', undefined, payer)
    }
    if (getAddress(a.to) !== getAddress(requirements.payTo))
      return invalid('invalid_exact_evm_recipient_mismatch', undefined, payer)
    if (BigInt(a.value) !== BigInt(requirements.amount)) {
      return invalid('invalid_exact_evm_payload_authorization_value_mismatch', undefined, payer)
    }
    const now = BigInt(Math.floor(Date.now() / 1000))
    if (BigInt(a.validBefore) < now + 6n)
      return invalid('invalid_exact_evm_payload_authorization_valid_before', undefined, payer)
    if (BigInt(a.validAfter) > now)
      return invalid('invalid_exact_evm_payload_authorization_valid_after', undefined, payer)
    // The signature is checked by the token itself: the simulation below runs the real `transferWithAuthorization`,
    // whose EIP-712 recovery (ecrecover, or ERC-1271 for contract wallets on USDC v2.2) is the authoritative check.
    // Recovering it locally as well would cost ~2 ms of CPU per call for no extra assurance.
    const data = transferCalldata(a, signature)
    try {
      // eth_estimateGas with a zero gas price: a pure simulation whose gas figure is reused to send the transfer (the
      // seller's ETH balance is not what is being verified).
      const gas = await reader.request({
        method: 'eth_estimateGas',
        params: [{ from: wallet.account.address, to: getAddress(requirements.asset), data, gasPrice: '0x0' }]
      })
      simulated.set(data, BigInt(gas))
      if (simulated.size > 10_000) simulated.delete(simulated.keys().next().value as Hex)
    } catch (err) {
      const text = (err as Error).message
      const reason = REVERTS.find(([re]) => re.test(text))?.[1] ?? 'invalid_exact_evm_transaction_simulation_failed'
      return invalid(reason, text.split('\n')[0], payer)
    }
    return { isValid: true, payer }
  }

  async function settle(
    payload: PaymentPayload,
    requirements: PaymentRequirements,
    options: AbortOptions = {}
  ): Promise<SettleResponse> {
    options.signal?.throwIfAborted()
    const { a, signature } = parts(payload)
    const payer = getAddress(a.from)
    const asset = getAddress(requirements.asset)
    const data = transferCalldata(a, signature)
    const base = { network: requirements.network, payer } as const
    let gas = simulated.get(data)
    simulated.delete(data)
    let hash: Hex
    try {
      gas ??= await reader.estimateGas({ account: wallet.account, to: asset, data })
      hash = await submitter.send(asset, data, (gas * BigInt(Math.round(margin * 100))) / 100n)
    } catch (err) {
      const text = (err as Error).message
      const reason = REVERTS.find(([re]) => re.test(text))?.[1] ?? 'invalid_exact_evm_transaction_failed'
      return { ...base, success: false, errorReason: reason, errorMessage: text.split('\n')[0] ?? '', transaction: '' }
    }
    const receipt = await submitter.receipt(hash, timeoutMs, options.signal)
    if (receipt == null) return { ...base, success: false, errorReason: 'settlement_pending', transaction: hash }
    if (receipt.status !== 'success') {
      return { ...base, success: false, errorReason: 'invalid_exact_evm_transaction_failed', transaction: hash }
    }
    const paid = parseEventLogs({
      abi: eip3009EventsAbi,
      eventName: 'Transfer',
      logs: receipt.logs,
      strict: true
    }).some(
      (t) =>
        getAddress(t.address) === asset &&
        getAddress(t.args.from) === payer &&
        getAddress(t.args.to) === getAddress(requirements.payTo) &&
        t.args.value === BigInt(requirements.amount)
    )
    if (!paid)
      return { ...base, success: false, errorReason: 'invalid_exact_evm_transfer_event_mismatch', transaction: hash }
    return { ...base, success: true, transaction: hash }
  }

  return {
    name: 'local',
    payTo: wallet.account.address,
    verify,
    settle,
    async findSettlement(payload, requirements, options = {}) {
      return findAuthorizationTransfer(reader, requirements, parts(payload).a, options)
    }
  }
}
