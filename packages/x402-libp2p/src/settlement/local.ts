import type { AbortOptions } from '@libp2p/interface'
import type { PaymentPayload, PaymentRequirements, VerifyResponse } from '@x402/core/types'
import {
  type Account,
  type Address,
  type Chain,
  getAddress,
  hexToBytes,
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
import { type BatchInit, SettlementBatcher } from './batch.ts'
import { type Authorization, transferCalldata } from './eip3009.ts'
import { LocalSettlement, type LocalSettlementContext } from './local-settle.ts'
import { SettlementNonceManager } from './nonce-manager.ts'
import { accountsWithCode } from './payer-code.ts'
import { PayerLedger } from './payer-ledger.ts'
import { receiptWatcherFor } from './receipt-watcher.ts'
import { refunderFor } from './refund.ts'
import type { RpcFailure } from './rpc-errors.ts'
import { classifyRpcError } from './rpc-errors.ts'
import { SettlementSender } from './sender.ts'
import type { SettlementAttempt, SettlementOutcome, SettleOptions, Settler } from './settler.ts'
import { SettlerUnavailableError } from './settler.ts'
import { AuthorizationSignatures } from './signature.ts'
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
  /**
   * Settle in batches (spec §7.6): authorizations ready at about the same time — within `minLingerMs` on a chain that
   * mines on demand, before the next block on a chain with block times — go out together in one Multicall3
   * `aggregate3` transaction, each transfer allowed to fail alone. `true` for the defaults. Needs Multicall3 on the
   * chain (at its canonical address unless `multicall3` says otherwise); settles one by one where it has no code.
   * Contract-wallet payers are always settled one by one. @default false
   */
  batch?: boolean | BatchInit
  /**
   * On a chain that mines on demand — learnt from how soon receipts come (within 250 ms, three in a row) — broadcast
   * with `eth_sendRawTransactionSync` (EIP-7966: anvil, reth `--dev`, chains with instant blocks): the node answers
   * once the transaction is mined, with its receipt — one request instead of a broadcast, a head and a block read. The
   * account's sends are then serialised up to mining, so batches form while one is being mined (group commit) instead
   * of lingering. On a chain with block times nothing changes; a node without the method is asked once. @default false
   */
  syncBroadcast?: boolean
}

/** How long a payer's "has code" answer is trusted (EIP-7702 can add code to an account). */
const CODE_TTL_MS = 60_000
/**
 * How long a payer's balance read stands for deferred calls (less what its settlements took since): a payer that moves
 * its funds away meanwhile costs the seller at most its credit limit.
 */
const DEFERRED_BALANCE_TTL_MS = 10_000
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
  const sender = new SettlementSender(wallet, reader, nonces, { syncBroadcast: init.syncBroadcast === true })
  const ledger = new PayerLedger({
    throttleMs: init.payerThrottleMs ?? DEFAULT_PAYER_THROTTLE_MS,
    maxInFlight: init.maxInFlightPerPayer ?? DEFAULT_MAX_IN_FLIGHT_PER_PAYER
  })
  const gasLimit = init.gasLimit ?? DEFAULT_SETTLEMENT_GAS_LIMIT
  const contractGas = init.contractWalletGas ?? DEFAULT_CONTRACT_WALLET_EXTRA_GAS
  const reuseMs = init.simulationReuseMs ?? DEFAULT_SIMULATION_REUSE_MS
  const codeCache = new Map<string, { hasCode: boolean; at: number }>()
  /** EIP-712 signatures checked locally (deferred calls), payers' keys remembered. */
  const signatures = new AuthorizationSignatures()
  /** Tokens' EIP-712 domain separators, read from each token once (a token's separator is fixed per chain). */
  const separators = new Map<string, Promise<Uint8Array>>()
  /** Verified simulations by authorization, for the settlement that follows. */
  const simulated = new Map<string, { call: SettlementCall; at: number; hasCode: boolean }>()
  const batcher =
    init.batch == null || init.batch === false
      ? undefined
      : new SettlementBatcher(
          sender,
          reader,
          receiptWatcherFor(reader),
          init.batch === true ? {} : init.batch,
          codesNow
        )

  const authId = (a: Authorization): string => `${a.from.toLowerCase()}/${a.nonce.toLowerCase()}`

  /**
   * The token's own `DOMAIN_SEPARATOR()`, read once: deferred calls are checked under the separator the token will
   * use, not one computed from the requirements' `extra.name`/`version` (a misconfigured name would have every
   * deferred settlement revert after the work was served).
   */
  function tokenSeparator(asset: Address): Promise<Uint8Array> {
    const key = asset.toLowerCase()
    let separator = separators.get(key)
    if (separator == null) {
      separator = reader
        .readContract({ address: asset, abi: eip3009EventsAbi, functionName: 'DOMAIN_SEPARATOR' })
        .then((hex) => hexToBytes(hex))
      separators.set(key, separator)
      separator.catch(() => separators.delete(key)) // read again next time
    }
    return separator.catch((err: unknown) => {
      throw new SettlerUnavailableError(
        `could not read the token's domain separator: ${classifyRpcError(err).message}`,
        {
          cause: err
        }
      )
    })
  }

  /** Whether the payer has code; a cached answer stands for `maxAgeMs` (0: read now). */
  async function payerHasCode(payer: Address, maxAgeMs = CODE_TTL_MS): Promise<boolean> {
    const cached = codeCache.get(payer)
    if (cached != null && Date.now() - cached.at < maxAgeMs) return cached.hasCode
    let code: `0x${string}` | undefined
    try {
      code = await reader.getCode({ address: payer })
    } catch (err) {
      throw new SettlerUnavailableError(`could not read the payer's code: ${classifyRpcError(err).message}`, {
        cause: err
      })
    }
    const hasCode = code != null && code !== '0x'
    rememberCode(payer, hasCode)
    return hasCode
  }

  function rememberCode(payer: Address, hasCode: boolean): void {
    codeCache.delete(payer)
    codeCache.set(payer, { hasCode, at: Date.now() })
    if (codeCache.size > MAX_CACHE) codeCache.delete(codeCache.keys().next().value as string)
  }

  /** The payers' code read now, in one request (right before a batch is signed); remembered for their settlements. */
  async function codesNow(payers: readonly Address[]): Promise<boolean[]> {
    const found = await accountsWithCode(reader, payers)
    for (const [i, payer] of payers.entries()) rememberCode(getAddress(payer), found[i] === true)
    return found
  }

  /** The settlement transaction for an authorization, with the gas cap for this payer; `undefined` if unsignable. */
  async function buildCall(
    a: Authorization,
    signature: `0x${string}`,
    asset: Address
  ): Promise<(SettlementCall & { hasCode: boolean }) | undefined> {
    const hasCode = await payerHasCode(getAddress(a.from))
    const data = transferCalldata(a, signature, hasCode)
    if (data == null) return undefined
    let fees: Awaited<ReturnType<SettlementSender['currentFees']>>
    try {
      fees = await sender.currentFees()
    } catch (err) {
      throw new SettlerUnavailableError(`could not read gas fees: ${classifyRpcError(err).message}`, { cause: err })
    }
    return { from: sender.address, to: asset, data, gas: hasCode ? gasLimit + contractGas : gasLimit, fees, hasCode }
  }

  /**
   * Simulates `call` and, when other settlements of the payer are open ahead of this one, checks the payer's balance
   * covers them all. Resolves with a failed verification, or `undefined` when it would settle.
   */
  /**
   * An authorization valid by wall-clock time (`validAfter` in the past) that the latest block's older timestamp does not
   * admit yet: the chain has been idle (a devnet without blocks for a while; a Go buyer signs `validAfter = now − 5 s`).
   * The block that will hold the settlement is stamped now or later, so it is simulated at that time instead. On a node
   * without block overrides the first verdict stands.
   */
  async function notYetValidOnAnIdleChain(
    failure: RpcFailure | undefined,
    call: SettlementCall,
    a: Authorization
  ): Promise<RpcFailure | undefined> {
    if (failure?.kind !== 'revert') return failure
    if (revertToReason(failure.message) !== 'invalid_exact_evm_payload_authorization_valid_after') return failure
    const now = BigInt(Math.floor(Date.now() / 1000))
    if (BigInt(a.validAfter) >= now) return failure
    const again = await simulateSettlement(reader, call, { time: now })
    return again == null ? undefined : failure
  }

  async function check(call: SettlementCall, a: Authorization, ahead: bigint): Promise<VerifyResponse | undefined> {
    const payer = getAddress(a.from)
    const amount = BigInt(a.value)
    // The simulation proves the balance covers this transfer; the ones ahead need a balance read — a recent one will
    // do while it covers them all.
    const cached = ahead > 0n ? ledger.cachedBalance(payer) : undefined
    const needRead = ahead > 0n && (cached == null || cached < ahead + amount)
    const [first, read] = await Promise.all([
      simulateSettlement(reader, call),
      needRead
        ? reader
            .readContract({ address: call.to, abi: eip3009EventsAbi, functionName: 'balanceOf', args: [payer] })
            .catch((err: unknown) => err as Error)
        : undefined
    ])
    if (typeof read === 'bigint') ledger.setBalance(payer, read)
    const balance = read ?? cached
    const failure = await notYetValidOnAnIdleChain(first, call, a)
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

  /** `@x402/evm`'s checks of the payload against the requirements, and the payer's throttle; `undefined` when they pass. */
  function checkPayload(
    payload: PaymentPayload,
    requirements: PaymentRequirements,
    a: Authorization
  ): VerifyResponse | undefined {
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
    const refused = checkPayload(payload, requirements, a)
    if (refused != null) return refused
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
    const { hasCode, ...signed } = call
    simulated.set(id, { call: signed, at: Date.now(), hasCode })
    if (simulated.size > MAX_CACHE) simulated.delete(simulated.keys().next().value as string)
    return { isValid: true, payer }
  }

  /**
   * The check of a deferred call (spec §7.7): the payload checks, the EIP-712 signature recovered here under the
   * token's own domain separator, and a recent balance of the payer covering what it owes in deferred calls plus this
   * one — no chain round trip while the payer's code and balance reads are fresh. A payer with code (a contract
   * wallet, an EIP-7702 account) gets the full verification, a simulation of the transfer.
   */
  async function verifyDeferred(
    payload: PaymentPayload,
    requirements: PaymentRequirements,
    owed: bigint,
    options: AbortOptions = {}
  ): Promise<VerifyResponse> {
    options.signal?.throwIfAborted()
    const { a, signature } = parts(payload)
    const payer = getAddress(a.from)
    const refused = checkPayload(payload, requirements, a)
    if (refused != null) return refused
    // A payer with code — a contract wallet, or an account delegated by EIP-7702 — is checked by the token through
    // ERC-1271, never by ecrecover: only a simulation of the transfer tells. (Its code is read again right before
    // the batch holding its settlement is signed.)
    if (await payerHasCode(payer)) return verify(payload, requirements, options)
    const separator = await tokenSeparator(getAddress(requirements.asset))
    if (!signatures.signedBy(separator, a, signature)) {
      return invalid('invalid_exact_evm_signature', 'the signature does not recover to the payer', payer)
    }
    const amount = BigInt(a.value)
    let balance = ledger.cachedBalance(payer, Date.now(), DEFERRED_BALANCE_TTL_MS)
    if (balance == null || balance < owed + amount) {
      try {
        balance = await reader.readContract({
          address: getAddress(requirements.asset),
          abi: eip3009EventsAbi,
          functionName: 'balanceOf',
          args: [payer]
        })
      } catch (err) {
        throw new SettlerUnavailableError(`could not read the payer's balance: ${classifyRpcError(err).message}`, {
          cause: err
        })
      }
      ledger.setBalance(payer, balance)
    }
    if (balance < owed + amount) {
      return invalid(
        'invalid_exact_evm_insufficient_balance',
        `balance ${balance} does not cover ${owed} owed in deferred calls plus ${amount}`,
        payer
      )
    }
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
      const { hasCode: _, ...signed } = call
      return verdict == null ? signed : { reason: verdict.invalidReason ?? 'simulation_failed' }
    },
    ...(batcher != null ? { batcher } : {}),
    async alone(a, signature, asset) {
      // The payer's code now: the batch that failed may have been sunk by code it got meanwhile (EIP-7702).
      await payerHasCode(getAddress(a.from), 0)
      const call = await buildCall(a, signature, asset)
      if (call == null) return 'invalid_exact_evm_signature'
      const { hasCode: _, ...signed } = call
      const verdict = await check(signed, a, 0n)
      return verdict == null ? undefined : (verdict.invalidReason ?? 'invalid_exact_evm_transaction_simulation_failed')
    },
    /** A batch member's call: the verification's if fresh, else built anew (the batch is simulated as a whole). */
    async member(a, signature, asset, simulateAgain) {
      const id = authId(a)
      const fresh = simulated.get(id)
      if (fresh?.hasCode === true || (fresh == null && (await payerHasCode(getAddress(a.from))))) {
        return { hasCode: true }
      }
      simulated.delete(id)
      if (!simulateAgain && fresh != null && Date.now() - fresh.at <= reuseMs) {
        return { call: fresh.call, fresh: true, hasCode: false }
      }
      const built = await buildCall(a, signature, asset)
      if (built == null) return { reason: 'invalid_exact_evm_signature' }
      const { hasCode, ...call } = built
      return hasCode ? { hasCode: true } : { call, fresh: false, hasCode: false }
    }
  }

  return {
    name: 'local',
    payTo: init.payTo ?? sender.address,
    // Refunds come from the settlement account, which receives the payments when it is the payee.
    refunder: refunderFor(context),
    verify,
    verifyDeferred,
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
