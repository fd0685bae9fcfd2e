import {
  type Account,
  type Address,
  type Chain,
  encodeFunctionData,
  erc20Abi,
  getAddress,
  type Hex,
  type PublicClient,
  pad,
  parseEventLogs,
  publicActions,
  type TransactionReceipt,
  type Transport,
  type WalletClient
} from 'viem'
import {
  DEFAULT_FEE_BUMP_PERCENT,
  DEFAULT_GAP_GRACE_MS,
  DEFAULT_MAX_FEE_BUMP_FACTOR,
  DEFAULT_REFUND_GAS_LIMIT,
  DEFAULT_STUCK_AFTER_MS
} from '../constants.ts'
import { type LiveTransactionContext, tendLiveTransaction } from './live-transaction.ts'
import { SettlementNonceManager } from './nonce-manager.ts'
import { SettlementSender } from './sender.ts'
import { latestTransaction, type SettlementAttempt, type SettleOptions } from './settler.ts'
import { simulateSettlement } from './simulation.ts'

/** A refund to make: `amount` atomic units of the ERC-20 `asset` (USDC: 6 decimals) back to `to`, the payer. */
export interface RefundRequest {
  asset: Address
  to: Address
  amount: bigint
  /**
   * 32 bytes naming the call — the refunded authorization's EIP-3009 nonce — appended to the `transfer` calldata (the
   * token ignores trailing calldata), so the buyer can tell this refund from any other transfer (spec §7.5).
   */
  reference: Hex
}

/**
 * The calldata of a refund: `transfer(to, amount)` followed by the 32-byte `reference` (spec §7.5). What a buyer
 * expects to find as the refund transaction's input.
 */
export function refundCalldata(request: Pick<RefundRequest, 'to' | 'amount' | 'reference'>): Hex {
  const transfer = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [request.to, request.amount] })
  return `${transfer}${pad(request.reference, { size: 32 }).slice(2)}` as Hex
}

/**
 * Where a refund stands (spec §7.5). `refunded`: a `Transfer(refunder → to, amount)` of `asset` is confirmed on-chain in
 * `transaction`. `pending`: not yet (in flight, or waiting for funds or gas — `attempt.reason` says which); a later run
 * resumes it from `attempt`. There is no `void`: a refund owed stays owed.
 */
export type RefundOutcome =
  | { status: 'refunded'; transaction: Hex; attempt: SettlementAttempt }
  | { status: 'pending'; attempt: SettlementAttempt }

/**
 * Pays refunds from a wallet, exactly once per refund: every transaction is persisted (through
 * `options.persist`) before it is broadcast, and a new one is signed only when the chain shows none of the earlier ones
 * was mined.
 */
export interface Refunder {
  /** The account refunds are paid from (it needs the token and gas). */
  readonly address: Address
  /**
   * Drives the refund as far as it can within `options.confirmationTimeoutMs`, from what was persisted in `attempt`
   * (empty for a new refund). Throws only when the chain could not be asked at all; the refund then stays owed.
   */
  refund(request: RefundRequest, attempt: SettlementAttempt, options: SettleOptions): Promise<RefundOutcome>
}

/** Options for {@link walletRefunder}. */
export interface WalletRefunderInit {
  /** The refunding account: a local account (each refund is signed here and persisted before broadcast). */
  walletClient: WalletClient<Transport, Chain, Account>
  /** Chain reads; the wallet's own transport when absent. */
  publicClient?: PublicClient
  /** Share it with every other writer of the same account. @default a manager of its own */
  nonceManager?: SettlementNonceManager
  /** Gas limit of one refund. @default 100000 */
  gasLimit?: bigint
  /** A refund next in line but unmined this long is replaced with higher fees (ms). @default 15000 */
  stuckAfterMs?: number
  /** @default 25 */
  feeBumpPercent?: number
  /** @default 4 */
  maxFeeBumpFactor?: number
  /** Absolute cap on a replacement's `maxFeePerGas`, in wei. @default none */
  maxFeePerGas?: bigint
  /** @default 5000 */
  gapGraceMs?: number
}

/**
 * A {@link Refunder} paying from its own wallet — for a server that settles through a facilitator (`localSettler` has
 * one built in, sharing its settlement account).
 */
export function walletRefunder(init: WalletRefunderInit): Refunder {
  const reader: PublicClient = init.publicClient ?? (init.walletClient.extend(publicActions) as unknown as PublicClient)
  const sender = new SettlementSender(init.walletClient, reader, init.nonceManager ?? new SettlementNonceManager())
  return refunderFor(
    {
      reader,
      sender,
      stuckAfterMs: init.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS,
      replacement: {
        bumpPercent: init.feeBumpPercent ?? DEFAULT_FEE_BUMP_PERCENT,
        maxBumpFactor: init.maxFeeBumpFactor ?? DEFAULT_MAX_FEE_BUMP_FACTOR,
        ...(init.maxFeePerGas != null ? { maxFeePerGas: init.maxFeePerGas } : {})
      },
      gapGraceMs: init.gapGraceMs ?? DEFAULT_GAP_GRACE_MS
    },
    init.gasLimit ?? DEFAULT_REFUND_GAS_LIMIT
  )
}

/** A refunder over an existing sender (the local settler's). */
export function refunderFor(ctx: LiveTransactionContext, gasLimit: bigint = DEFAULT_REFUND_GAS_LIMIT): Refunder {
  return {
    address: ctx.sender.address,
    refund: (request, attempt, options) => new LocalRefund(ctx, gasLimit, request, attempt, options).run()
  }
}

/** Within a confirmation wait, the live refund is re-checked this often. */
const WAIT_SLICE_MS = 2_000

/** Blocks searched (newest first) for the transaction holding a refund's nonce. */
const MAX_NONCE_SCAN_BLOCKS = 256n

/** What the chain says about the refund transactions signed so far. */
interface OwnReceipts {
  /** The one that paid the refund. */
  paid?: Hex
  /** Mined without paying (reverted). */
  reverted: Set<Hex>
  /** A receipt could not be read: nothing may be concluded from the others' absence. */
  unknown: boolean
}

/**
 * One run of the refund state machine. Unlike a settlement, a refund has no on-chain idempotency key: the only proof
 * that it was paid is the receipt of one of its own transactions. So a new transaction is signed only when every
 * earlier one is positively known not to be mined — it reverted, or the block holding its nonce holds another
 * transaction of the refunder — and never on a missing receipt alone (an RPC's receipt index can lag its nonce count)
 * or when a receipt could not be read.
 */
class LocalRefund {
  private readonly ctx: LiveTransactionContext
  private readonly gasLimit: bigint
  private readonly request: RefundRequest
  private readonly options: SettleOptions
  private attempt: SettlementAttempt

  constructor(
    ctx: LiveTransactionContext,
    gasLimit: bigint,
    request: RefundRequest,
    attempt: SettlementAttempt,
    options: SettleOptions
  ) {
    this.ctx = ctx
    this.gasLimit = gasLimit
    this.request = { ...request, asset: getAddress(request.asset), to: getAddress(request.to) }
    this.attempt = { ...attempt, transactions: [...attempt.transactions] }
    this.options = options
  }

  async run(): Promise<RefundOutcome> {
    const deadline = Date.now() + this.options.confirmationTimeoutMs
    for (const tx of this.attempt.transactions) this.ctx.sender.track(tx)
    let justSent = false
    let sentAfterRevert = false
    for (let round = 0; ; round++) {
      this.options.signal?.throwIfAborted()
      let own = await this.ownReceipts()
      if (own.paid != null) return this.refunded(own.paid)
      if (own.unknown) return this.pending('refund_unknown')
      if (round > 0 && Date.now() >= deadline) return this.pending()
      const live = latestTransaction(this.attempt)
      let fresh = live == null || own.reverted.has(live.hash)
      if (live != null && !fresh) {
        const state = await tendLiveTransaction(this.ctx, this.attempt, live, justSent, (next) => this.persist(next))
        if (state === 'no-gas-funds') return this.pending('seller_out_of_gas')
        if (state === 'displaced') {
          // The nonce is mined: by this refund or by another transaction. Only the block holding it says which.
          own = await this.ownReceipts()
          if (own.paid != null) return this.refunded(own.paid)
          if (own.unknown) return this.pending('refund_unknown')
          const holder = await this.nonceHolder(live.nonce ?? 0)
          if (holder == null) return this.pending('refund_unknown')
          // Ours: mined, its receipt is on its way (then paid, or reverted and replaced). Another's: sign anew.
          fresh = !this.hashes().includes(holder)
        }
      }
      if (fresh) {
        if (own.reverted.size > 0) {
          // A refund reverted on-chain (the wallet's balance moved away meanwhile): one more try per run, after a
          // passing simulation; otherwise the resolver comes back later.
          if (sentAfterRevert) return this.pending('refund_reverted')
          sentAfterRevert = true
        }
        const why = await this.sendFresh()
        if (why != null) return this.pending(why)
        justSent = true
      }
      const remaining = deadline - Date.now()
      if (remaining <= 0) return this.pending()
      await this.ctx.sender.waitForReceipt(this.hashes(), Math.min(remaining, WAIT_SLICE_MS), this.options.signal)
    }
  }

  private hashes(): Hex[] {
    return this.attempt.transactions.map((t) => t.hash).reverse()
  }

  /**
   * The hash of the refunder's transaction at `nonce`, found in the blocks since the refund began (newest first, at
   * most {@link MAX_NONCE_SCAN_BLOCKS}), or `undefined` when no block read shows it.
   */
  private async nonceHolder(nonce: number): Promise<Hex | undefined> {
    const { reader, sender } = this.ctx
    const latest = await reader.getBlockNumber({ cacheTime: 0 })
    const from = this.attempt.fromBlock != null ? BigInt(this.attempt.fromBlock) : latest - MAX_NONCE_SCAN_BLOCKS
    const start = latest - from > MAX_NONCE_SCAN_BLOCKS ? latest - MAX_NONCE_SCAN_BLOCKS : from
    for (let n = latest; n >= start && n >= 0n; n--) {
      this.options.signal?.throwIfAborted()
      const block = await reader.getBlock({ blockNumber: n, includeTransactions: true })
      const tx = block.transactions.find((t) => getAddress(t.from) === sender.address && t.nonce === nonce)
      if (tx != null) return tx.hash
    }
    return undefined
  }

  private async ownReceipts(): Promise<OwnReceipts> {
    const reverted = new Set<Hex>()
    let unknown = false
    for (const hash of this.hashes()) {
      let receipt: TransactionReceipt | undefined
      try {
        receipt = await this.ctx.sender.receipt(hash)
      } catch {
        unknown = true
        continue
      }
      if (receipt == null) continue
      if (this.pays(receipt)) return { paid: hash, reverted, unknown: false }
      reverted.add(hash)
    }
    return { reverted, unknown }
  }

  /** Whether `receipt` carries the refund's `Transfer(refunder → to, amount)` of the asset. */
  private pays(receipt: TransactionReceipt): boolean {
    if (receipt.status !== 'success') return false
    const transfers = parseEventLogs({ abi: erc20Abi, eventName: 'Transfer', logs: receipt.logs, strict: true })
    return transfers.some(
      (log) =>
        getAddress(log.address) === this.request.asset &&
        getAddress(log.args.from) === this.ctx.sender.address &&
        getAddress(log.args.to) === this.request.to &&
        log.args.value === this.request.amount
    )
  }

  /** Simulates the refund with its exact fields, then signs, persists and broadcasts it. Returns why not, if not. */
  private async sendFresh(): Promise<string | undefined> {
    const { sender, reader } = this.ctx
    const call = {
      from: sender.address,
      to: this.request.asset,
      data: refundCalldata(this.request),
      gas: this.gasLimit,
      fees: await sender.currentFees()
    }
    const failure = await simulateSettlement(reader, call)
    if (failure != null) {
      if (failure.kind === 'no-gas-funds') return 'seller_out_of_gas'
      if (failure.kind === 'revert') return 'refund_unfunded'
      return 'refund_unknown'
    }
    // Where the search for this refund's nonces starts: read before anything is signed.
    const fromBlock = this.attempt.fromBlock ?? (await reader.getBlockNumber({ cacheTime: 0 })).toString()
    const { result } = await sender.submit({ to: call.to, data: call.data, gas: call.gas, fees: call.fees }, (tx) =>
      this.persist({ transactions: [...this.attempt.transactions, tx], fromBlock })
    )
    if (result === 'no-gas-funds') return 'seller_out_of_gas'
    if (result === 'fee-too-low') return 'fee_below_base_fee'
    return undefined
  }

  private async persist(attempt: SettlementAttempt): Promise<void> {
    this.attempt = attempt
    await this.options.persist(attempt)
  }

  private refunded(transaction: Hex): RefundOutcome {
    this.ctx.sender.untrack(this.attempt.transactions)
    const { reason: _, ...attempt } = this.attempt
    return { status: 'refunded', transaction, attempt }
  }

  private pending(reason?: string): RefundOutcome {
    if (reason != null) this.attempt = { ...this.attempt, reason }
    return { status: 'pending', attempt: this.attempt }
  }
}
