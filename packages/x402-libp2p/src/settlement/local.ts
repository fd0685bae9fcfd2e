import type { AbortOptions } from '@libp2p/interface'
import type { PaymentPayload, PaymentRequirements, VerifyResponse } from '@x402/core/types'
import {
  type Account,
  type Address,
  type Chain,
  getAddress,
  type PublicClient,
  publicActions,
  type Transport,
  type WalletClient
} from 'viem'
import {
  DEFAULT_CONTRACT_WALLET_EXTRA_GAS,
  DEFAULT_FEE_BUMP_PERCENT,
  DEFAULT_GAP_GRACE_MS,
  DEFAULT_MAX_FEE_BUMP_FACTOR,
  DEFAULT_MAX_IN_FLIGHT_PER_PAYER,
  DEFAULT_PAYER_THROTTLE_MS,
  DEFAULT_SETTLEMENT_GAS_LIMIT,
  DEFAULT_SIMULATION_REUSE_MS,
  DEFAULT_STUCK_AFTER_MS
} from '../constants.ts'
import { eip3009EventsAbi } from './abi.ts'
import { type Authorization, transferCalldata } from './eip3009.ts'
import { LocalSettlement, type LocalSettlementContext } from './local-settle.ts'
import { SettlementNonceManager } from './nonce-manager.ts'
import { PayerLedger } from './payer-ledger.ts'
import { refunderFor } from './refund.ts'
import { classifyRpcError } from './rpc-errors.ts'
import { SettlementSender } from './sender.ts'
import type { SettlementAttempt, SettlementOutcome, SettleOptions, Settler } from './settler.ts'
import { SettlerUnavailableError } from './settler.ts'
import { revertToReason, type SettlementCall, simulateSettlement } from './simulation.ts'

/** Options for {@link localSettler}. */
export interface LocalSettlerInit {
  /**
   * The settlement account: it signs and broadcasts `transferWithAuthorization` and pays the gas. A local account
   * (each settlement is signed here and persisted before it is broadcast). A dedicated account keeps settlements
   * apart from the node's other writes; to share one, pass the same {@link SettlementNonceManager} to both.
   */
  walletClient: WalletClient<Transport, Chain, Account>
  /** Chain reads (simulation, receipts, recovery); the wallet's own transport when absent. */
  publicClient?: PublicClient
  /** Who is paid. @default the settlement account */
  payTo?: Address
  /**
   * Hands out the settlement account's nonces; share it with any other writer of the same account
   * (`privateKeyToAccount(key, { nonceManager })`). @default a manager of its own
   */
  nonceManager?: SettlementNonceManager
  /** Gas limit of a settlement whose payer is an externally owned account (they use about 60–90 k). @default 150000 */
  gasLimit?: bigint
  /** Extra gas allowed when the payer is a contract wallet (its ERC-1271 check runs inside the transfer). @default 100000 */
  contractWalletGas?: bigint
  /** How long a payer whose settlement reverted on-chain is refused (ms). @default 600000 */
  payerThrottleMs?: number
  /**
   * A verification's simulation stands for the pre-broadcast check when the transaction is signed within this many ms
   * with the very fields it simulated (sender, gas limit, fees); otherwise the settlement is simulated again. @default 250
   */
  simulationReuseMs?: number
  /** A broadcast transaction that is next in line but unmined this long is replaced with higher fees (ms). @default 15000 */
  stuckAfterMs?: number
  /** Minimum fee raise of a replacement, in percent (nodes require ≥ 10). @default 25 */
  feeBumpPercent?: number
  /**
   * Replacements offer at most this multiple of the first transaction's fees — or the market's fees, if higher: they
   * follow a real fee rise but never compound past it. @default 4
   */
  maxFeeBumpFactor?: number
  /** Absolute cap on a replacement's `maxFeePerGas`, in wei, whatever the market. @default none */
  maxFeePerGas?: bigint
  /**
   * Most settlements of one payer in flight at once: one while the payer has no confirmed payment to this seller, one
   * more per confirmed settlement, up to this. Bounds the seller transactions a payer can make revert at once.
   * @default 16
   */
  maxInFlightPerPayer?: number
  /** How long a nonce gap no live settlement of ours explains is left before it is filled (ms). @default 5000 */
  gapGraceMs?: number
  /** How far back the recovery searches for the transaction that used an authorization. @default 10000n blocks */
  lookbackBlocks?: bigint
}

/** How long a payer's "has code" answer is trusted (EIP-7702 can add code to an account). */
const CODE_TTL_MS = 60_000
const MAX_CACHE = 10_000

const parts = (payload: PaymentPayload): { a: Authorization; signature: `0x${string}` } => {
  const p = payload.payload as { authorization: Authorization; signature: `0x${string}` }
  return { a: p.authorization, signature: p.signature }
}

const invalid = (reason: string, message?: string, payer?: string, retryAfterMs?: number): VerifyResponse => ({
  isValid: false,
  invalidReason: reason,
  ...(message != null ? { invalidMessage: message } : {}),
  ...(payer != null ? { payer } : {}),
  ...(retryAfterMs != null ? { extra: { retryAfterMs } } : {})
})

/**
 * Settles with a wallet of the seller's — no facilitator (spec §7).
 *
 * **Verification** follows `@x402/evm`'s exact verifier (scheme, network, recipient, amount, time window), then runs
 * the very settlement transaction with `eth_call` under the fields it will be signed with — sender, the settlement gas
 * cap, real EIP-1559 fees — so the token itself checks the EIP-712 signature (ecrecover, or ERC-1271 for a payer with
 * code), the balance, the nonce and the window. A payer with other settlements still open must hold enough for all of
 * them; a throttled payer is refused. Infrastructure failures throw {@link SettlerUnavailableError}.
 *
 * **Settlement** is a persisted state machine: each transaction is signed, handed to the server to persist, then
 * broadcast; lost answers, receipt errors, restarts, dropped or stuck transactions and nonce gaps are resolved from the
 * chain (re-broadcast of the stored raw transaction, fee-bumped replacement, gap filling), and a transfer by anyone
 * that used the authorization counts as paid.
 */
export function localSettler(init: LocalSettlerInit): Settler {
  const wallet = init.walletClient
  const reader: PublicClient = init.publicClient ?? (wallet.extend(publicActions) as unknown as PublicClient)
  const network = `eip155:${wallet.chain.id}`
  const nonces = init.nonceManager ?? new SettlementNonceManager()
  const sender = new SettlementSender(wallet, reader, nonces)
  const ledger = new PayerLedger({
    throttleMs: init.payerThrottleMs ?? DEFAULT_PAYER_THROTTLE_MS,
    maxInFlight: init.maxInFlightPerPayer ?? DEFAULT_MAX_IN_FLIGHT_PER_PAYER
  })
  const gasLimit = init.gasLimit ?? DEFAULT_SETTLEMENT_GAS_LIMIT
  const contractGas = init.contractWalletGas ?? DEFAULT_CONTRACT_WALLET_EXTRA_GAS
  const reuseMs = init.simulationReuseMs ?? DEFAULT_SIMULATION_REUSE_MS
  const codeCache = new Map<string, { hasCode: boolean; at: number }>()
  /** Verified simulations by authorization, for the settlement that follows. */
  const simulated = new Map<string, { call: SettlementCall; at: number }>()

  const authId = (a: Authorization): string => `${a.from.toLowerCase()}/${a.nonce.toLowerCase()}`

  async function payerHasCode(payer: Address): Promise<boolean> {
    const cached = codeCache.get(payer)
    if (cached != null && Date.now() - cached.at < CODE_TTL_MS) return cached.hasCode
    let code: `0x${string}` | undefined
    try {
      code = await reader.getCode({ address: payer })
    } catch (err) {
      throw new SettlerUnavailableError(`could not read the payer's code: ${classifyRpcError(err).message}`, {
        cause: err
      })
    }
    const hasCode = code != null && code !== '0x'
    codeCache.delete(payer)
    codeCache.set(payer, { hasCode, at: Date.now() })
    if (codeCache.size > MAX_CACHE) codeCache.delete(codeCache.keys().next().value as string)
    return hasCode
  }

  /** The settlement transaction for an authorization, with the gas cap for this payer; `undefined` if unsignable. */
  async function buildCall(
    a: Authorization,
    signature: `0x${string}`,
    asset: Address
  ): Promise<SettlementCall | undefined> {
    const hasCode = await payerHasCode(getAddress(a.from))
    const data = transferCalldata(a, signature, hasCode)
    if (data == null) return undefined
    let fees: Awaited<ReturnType<SettlementSender['currentFees']>>
    try {
      fees = await sender.currentFees()
    } catch (err) {
      throw new SettlerUnavailableError(`could not read gas fees: ${classifyRpcError(err).message}`, { cause: err })
    }
    return { from: sender.address, to: asset, data, gas: hasCode ? gasLimit + contractGas : gasLimit, fees }
  }

  /**
   * Simulates `call` and, when other settlements of the payer are open ahead of this one, checks the payer's balance
   * covers them all. Resolves with a failed verification, or `undefined` when it would settle.
   */
  async function check(call: SettlementCall, a: Authorization, ahead: bigint): Promise<VerifyResponse | undefined> {
    const payer = getAddress(a.from)
    const amount = BigInt(a.value)
    // The simulation proves the balance covers this transfer; the ones ahead need a balance read — a recent one will
    // do while it covers them all.
    const cached = ahead > 0n ? ledger.cachedBalance(payer) : undefined
    const needRead = ahead > 0n && (cached == null || cached < ahead + amount)
    const [failure, read] = await Promise.all([
      simulateSettlement(reader, call),
      needRead
        ? reader
            .readContract({ address: call.to, abi: eip3009EventsAbi, functionName: 'balanceOf', args: [payer] })
            .catch((err: unknown) => err as Error)
        : undefined
    ])
    if (typeof read === 'bigint') ledger.setBalance(payer, read)
    const balance = read ?? cached
    if (failure != null) {
      if (failure.kind === 'revert') return invalid(revertToReason(failure.message), failure.message, payer)
      if (failure.kind === 'out-of-gas') {
        return invalid('settlement_gas_over_cap', `the transfer needs more than ${call.gas} gas`, payer)
      }
      if (failure.kind === 'no-gas-funds') throw new SettlerUnavailableError('the settling wallet cannot pay for gas')
      throw new SettlerUnavailableError(`could not simulate the settlement: ${failure.message}`)
    }
    if (balance instanceof Error) {
      throw new SettlerUnavailableError(`could not read the payer's balance: ${classifyRpcError(balance).message}`, {
        cause: balance
      })
    }
    if (balance != null && balance < ahead + amount) {
      return invalid(
        'invalid_exact_evm_insufficient_balance',
        `balance ${balance} does not cover ${ahead} already authorized plus ${amount}`,
        payer
      )
    }
    return undefined
  }

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
    if (getAddress(a.to) !== getAddress(requirements.payTo)) {
      return invalid('invalid_exact_evm_recipient_mismatch', undefined, payer)
    }
    if (BigInt(a.value) !== BigInt(requirements.amount)) {
      return invalid('invalid_exact_evm_payload_authorization_value_mismatch', undefined, payer)
    }
    const now = BigInt(Math.floor(Date.now() / 1000))
    if (BigInt(a.validBefore) < now + 6n) {
      return invalid('invalid_exact_evm_payload_authorization_valid_before', undefined, payer)
    }
    if (BigInt(a.validAfter) > now)
      return invalid('invalid_exact_evm_payload_authorization_valid_after', undefined, payer)
    const throttled = ledger.throttledUntil(payer)
    if (throttled != null) {
      const retryAfterMs = throttled - Date.now()
      return invalid('payer_throttled', 'a settlement of this payer reverted on-chain', payer, retryAfterMs)
    }
    const call = await buildCall(a, signature, getAddress(requirements.asset))
    if (call == null) return invalid('invalid_exact_evm_signature', 'not a 65-byte ECDSA signature', payer)
    const id = authId(a)
    let ahead: bigint
    try {
      ;({ ahead } = ledger.open(id, payer, BigInt(a.value), Number(a.validBefore) * 1000))
    } catch {
      throw new SettlerUnavailableError('too many settlements open')
    }
    let verdict: VerifyResponse | undefined
    try {
      verdict = await check(call, a, ahead)
    } catch (err) {
      ledger.close(id)
      throw err
    }
    if (verdict != null) {
      ledger.close(id)
      return verdict
    }
    simulated.delete(id)
    simulated.set(id, { call, at: Date.now() })
    if (simulated.size > MAX_CACHE) simulated.delete(simulated.keys().next().value as string)
    return { isValid: true, payer }
  }

  const context: LocalSettlementContext = {
    reader,
    sender,
    ledger,
    stuckAfterMs: init.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS,
    replacement: {
      bumpPercent: init.feeBumpPercent ?? DEFAULT_FEE_BUMP_PERCENT,
      maxBumpFactor: init.maxFeeBumpFactor ?? DEFAULT_MAX_FEE_BUMP_FACTOR,
      ...(init.maxFeePerGas != null ? { maxFeePerGas: init.maxFeePerGas } : {})
    },
    gapGraceMs: init.gapGraceMs ?? DEFAULT_GAP_GRACE_MS,
    ...(init.lookbackBlocks != null ? { lookbackBlocks: init.lookbackBlocks } : {}),
    /** The pre-broadcast check: the verification's simulation if it is fresh, otherwise a new one. */
    async prepare(a, signature, asset, simulateAgain) {
      const id = authId(a)
      const fresh = simulated.get(id)
      simulated.delete(id)
      if (!simulateAgain && fresh != null && Date.now() - fresh.at <= reuseMs) return fresh.call
      const call = await buildCall(a, signature, asset)
      if (call == null) return { reason: 'invalid_exact_evm_signature' }
      const { ahead } = ledger.open(id, getAddress(a.from), BigInt(a.value), Number(a.validBefore) * 1000)
      const verdict = await check(call, a, ahead)
      return verdict == null ? call : { reason: verdict.invalidReason ?? 'simulation_failed' }
    }
  }

  return {
    name: 'local',
    payTo: init.payTo ?? sender.address,
    // Refunds come from the settlement account, which receives the payments when it is the payee.
    refunder: refunderFor(context),
    verify,
    settle(
      payload: PaymentPayload,
      requirements: PaymentRequirements,
      attempt: SettlementAttempt,
      options: SettleOptions
    ): Promise<SettlementOutcome> {
      const { a, signature } = parts(payload)
      return new LocalSettlement(context, requirements, a, signature, authId(a), attempt, options).run()
    },
    release(payload: PaymentPayload): void {
      const id = authId(parts(payload).a)
      ledger.close(id)
      simulated.delete(id)
    }
  }
}
