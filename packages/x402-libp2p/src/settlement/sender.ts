import {
  type Account,
  type Address,
  type Chain,
  formatTransactionReceipt,
  type Hash,
  type Hex,
  keccak256,
  type LocalAccount,
  type PublicClient,
  type RpcTransactionReceipt,
  type TransactionReceipt,
  type Transport,
  type WalletClient
} from 'viem'
import type { SettlementNonceManager } from './nonce-manager.ts'
import { receiptWatcherFor } from './receipt-watcher.ts'
import { getReceipt, waitForReceipt } from './receipts.ts'
import { classifyRpcError } from './rpc-errors.ts'
import type { SettlementTransaction } from './settler.ts'

/** Fees are re-read at most this often (one block on Base is 2 s). */
const FEE_TTL_MS = 1_000
/**
 * On a chain that mines on demand, fees are re-read at most this often: each of its blocks holds a transaction or two,
 * so its base fee falls between our transactions (a fee cap the next block refuses is re-read at once anyway).
 */
const FEE_TTL_ON_DEMAND_MS = 5_000
/** The account's mined nonce is re-read at most this often. */
const NONCE_TTL_MS = 250
/** Fresh nonces tried when a broadcast finds its nonce taken, before the attempt is left to the resolver. */
const MAX_DISPLACED_RETRIES = 3

/** EIP-1559 fees in wei. */
export interface Fees {
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
}

/**
 * What the node said to a broadcast: `accepted` (in its pool, or already mined), `displaced` (the nonce is held by
 * another transaction), `underpriced` (a replacement did not outbid the transaction it replaces), `fee-too-low` (its
 * fee cap is below the next block's base fee: not taken), `no-gas-funds` (the sender cannot pay gas: not taken),
 * `unknown` (no usable answer: it may or may not be in the pool).
 */
export type BroadcastResult = 'accepted' | 'displaced' | 'underpriced' | 'fee-too-low' | 'no-gas-funds' | 'unknown'

/** A call to sign and send. */
export interface CallRequest {
  to: Address
  data: Hex
  gas: bigint
  fees: Fees
}

/**
 * Sends the settlement transactions of one local account: nonces from a {@link SettlementNonceManager}, each
 * transaction signed here so its hash and raw bytes can be persisted **before** the broadcast, and every node answer
 * read for what it says ("already known", "nonce too low", "replacement transaction underpriced", no gas funds, no
 * answer at all). Allocation, signing, persisting and broadcasting are serialised per account so transactions reach the
 * node in nonce order; receipts are awaited in parallel.
 *
 * Written by hand because viem's `sendTransaction`/`writeContract` re-fill nonce, gas and fees per call (3 RPCs), give
 * no hook between signing and broadcasting, and turn every refusal into an error with no way to tell "already in the
 * pool" from "never sent".
 */
export class SettlementSender {
  readonly account: LocalAccount
  readonly chainId: number
  private readonly reader: PublicClient
  private readonly nonces: SettlementNonceManager
  private queue: Promise<unknown> = Promise.resolve()
  private fees: { at: number; value: Promise<Fees> } | undefined
  private mined: { at: number; value: Promise<number> } | undefined
  /** Live settlement transactions by nonce: what the gap repair may re-broadcast. */
  private readonly outstanding = new Map<number, SettlementTransaction>()
  /** The block number at which each live transaction was first seen stuck. */
  private readonly stuckSince = new Map<Hex, bigint>()
  private lastRepair = 0
  /** Broadcast with `eth_sendRawTransactionSync` where the chain mines on demand (`false` once the node lacks it). */
  private syncBroadcast: boolean
  /** Sends queued or running (signing, persisting, broadcasting). */
  private sending = 0
  private idleWaiters: Array<() => void> = []

  constructor(
    wallet: WalletClient<Transport, Chain, Account>,
    reader: PublicClient,
    nonces: SettlementNonceManager,
    init: { syncBroadcast?: boolean } = {}
  ) {
    const account = wallet.account
    if (account.type !== 'local' || account.signTransaction == null) {
      throw new TypeError('localSettler needs a local account (it signs each settlement before broadcasting it)')
    }
    this.account = account as LocalAccount
    this.chainId = wallet.chain.id
    this.reader = reader
    this.nonces = nonces
    this.syncBroadcast = init.syncBroadcast === true
  }

  /** Whether a send is queued or running. */
  get busy(): boolean {
    return this.sending > 0
  }

  /** Resolves once no send is queued or running. */
  idle(): Promise<void> {
    if (this.sending === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /**
   * Whether a broadcast now is answered with its receipt (`eth_sendRawTransactionSync`, EIP-7966): when enabled and the
   * chain mines on demand, as learnt from how soon the last receipts came.
   */
  get answersWithReceipt(): boolean {
    return this.syncBroadcast && receiptWatcherFor(this.reader).minesOnDemand()
  }

  get address(): Address {
    return this.account.address
  }

  /**
   * Current EIP-1559 fees, cached for a second (five where the chain mines on demand); concurrent callers share one
   * read (16 settlements starting together read the fees once, not 16 times).
   */
  currentFees(): Promise<Fees> {
    const now = Date.now()
    const ttl = receiptWatcherFor(this.reader).minesOnDemand() ? FEE_TTL_ON_DEMAND_MS : FEE_TTL_MS
    if (this.fees == null || now - this.fees.at > ttl) {
      const value = this.reader
        .estimateFeesPerGas()
        .then(({ maxFeePerGas, maxPriorityFeePerGas }) => ({ maxFeePerGas, maxPriorityFeePerGas }))
      value.catch(() => {
        if (this.fees?.value === value) this.fees = undefined
      })
      this.fees = { at: now, value }
    }
    return this.fees.value
  }

  /** The account's count of mined transactions (the next nonce a block can include), cached for 250 ms. */
  minedNonce(): Promise<number> {
    const now = Date.now()
    if (this.mined == null || now - this.mined.at > NONCE_TTL_MS) {
      const value = this.reader.getTransactionCount({ address: this.address, blockTag: 'latest' })
      value.catch(() => {
        this.mined = undefined
      })
      this.mined = { at: now, value }
    }
    return this.mined.value
  }

  private async sign(call: CallRequest, nonce: number): Promise<SettlementTransaction> {
    const raw = await this.account.signTransaction({
      chainId: this.chainId,
      type: 'eip1559',
      nonce,
      to: call.to,
      data: call.data,
      gas: call.gas,
      value: 0n,
      maxFeePerGas: call.fees.maxFeePerGas,
      maxPriorityFeePerGas: call.fees.maxPriorityFeePerGas
    })
    return {
      hash: keccak256(raw),
      raw,
      nonce,
      gas: call.gas.toString(),
      maxFeePerGas: call.fees.maxFeePerGas.toString(),
      maxPriorityFeePerGas: call.fees.maxPriorityFeePerGas.toString(),
      at: Date.now()
    }
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    this.sending++
    const next = this.queue.then(task).finally(() => {
      if (--this.sending > 0) return
      for (const wake of this.idleWaiters.splice(0)) wake()
    })
    this.queue = next.catch(() => undefined)
    return next
  }

  /**
   * Signs `call` at a fresh nonce, hands the signed transaction to `persist` (and waits), then broadcasts it. When the
   * nonce turns out to be taken by another transaction, re-signs at a fresh one (persisting again), a few times.
   * Returns every transaction signed, the last one the live one, and what the node said about it.
   */
  submit(
    call: CallRequest,
    persist: (tx: SettlementTransaction) => Promise<void>
  ): Promise<{ transactions: SettlementTransaction[]; result: BroadcastResult }> {
    return this.serial(async () => {
      const transactions: SettlementTransaction[] = []
      const ids = { address: this.address, chainId: this.chainId }
      for (let attempt = 0; ; attempt++) {
        const nonce = await this.nonces.allocate({ ...ids, client: this.reader })
        let tx: SettlementTransaction
        try {
          tx = await this.sign(call, nonce)
          await persist(tx)
        } catch (err) {
          this.nonces.release({ ...ids, nonce })
          throw err
        }
        transactions.push(tx)
        this.track(tx)
        const result = await this.broadcast(tx, 'fresh')
        if (result === 'no-gas-funds' || result === 'fee-too-low') {
          // Not taken by the node: the nonce is free again, and fees are read afresh for the next try.
          this.nonces.release({ ...ids, nonce })
          this.untrack([tx])
          if (result === 'fee-too-low') this.fees = undefined
        }
        if (result !== 'displaced' || attempt + 1 >= MAX_DISPLACED_RETRIES) return { transactions, result }
        this.nonces.resync(ids)
      }
    })
  }

  /** Current fees read afresh (not from the one-second cache): what a replacement must at least offer. */
  async marketFees(): Promise<Fees> {
    this.fees = undefined
    return this.currentFees()
  }

  /** Signs `call` at the nonce of `tx` (a replacement), persists it, broadcasts it. */
  replace(
    tx: SettlementTransaction,
    call: CallRequest,
    persist: (tx: SettlementTransaction) => Promise<void>
  ): Promise<{ transaction: SettlementTransaction; result: BroadcastResult }> {
    return this.serial(async () => {
      const transaction = await this.sign(call, tx.nonce ?? 0)
      await persist(transaction)
      this.track(transaction)
      return { transaction, result: await this.broadcast(transaction, 'replacement') }
    })
  }

  /** A stored transaction is live (signed here, or found in a call record after a restart). */
  track(tx: SettlementTransaction): void {
    if (tx.nonce == null) return
    this.outstanding.set(tx.nonce, tx)
    this.nonces.observe({ address: this.address, chainId: this.chainId, nonce: tx.nonce })
  }

  /**
   * Whether a block was produced since `hash` was first seen stuck (at `latest`): only then is its price the problem.
   * The first call for a transaction records the block and answers `false`.
   */
  blockSinceStuck(hash: Hex, latest: bigint): boolean {
    const first = this.stuckSince.get(hash)
    if (first == null) {
      this.stuckSince.set(hash, latest)
      return false
    }
    return latest > first
  }

  /** A settlement ended: its transactions are no longer live. */
  untrack(transactions: readonly SettlementTransaction[]): void {
    for (const tx of transactions) {
      this.stuckSince.delete(tx.hash)
      if (tx.nonce != null && this.outstanding.get(tx.nonce)?.hash === tx.hash) this.outstanding.delete(tx.nonce)
    }
  }

  /**
   * Repairs a nonce gap that holds live settlements back (spec §7.3): when the node's pending count equals the mined
   * count (nothing in the pool at the next nonce) while a live transaction waits above it, re-broadcasts the live
   * transaction that holds that nonce, or — after `graceMs`, when none of ours does (a nonce another writer took and
   * never broadcast) — fills it with a zero-value transfer to self. Runs at most once a second.
   */
  async repairGap(graceMs: number): Promise<void> {
    const now = Date.now()
    if (now - this.lastRepair < 1_000) return
    this.lastRepair = now
    const mined = await this.minedNonce()
    for (const n of this.outstanding.keys()) if (n < mined) this.outstanding.delete(n)
    const waiting = [...this.outstanding.values()].filter((tx) => (tx.nonce ?? 0) > mined)
    if (waiting.length === 0) return
    const pending = await this.reader.getTransactionCount({ address: this.address, blockTag: 'pending' })
    if (pending > mined) return // the next nonce is in the pool: no gap (at most a slow transaction)
    const holder = this.outstanding.get(mined)
    if (holder != null) {
      await this.rebroadcast(holder)
      return
    }
    if (waiting.some((tx) => now - tx.at >= graceMs)) await this.fillGap(mined)
  }

  /** Sends a stored raw transaction again (after a drop or a restart). */
  rebroadcast(tx: SettlementTransaction): Promise<BroadcastResult> {
    return this.broadcast(tx, 'again')
  }

  /**
   * Fills a nonce no tracked transaction holds (a writer took it and never broadcast, or its transaction was dropped)
   * with a zero-value transfer to self, so transactions behind it can be mined.
   */
  fillGap(nonce: number): Promise<BroadcastResult> {
    return this.serial(async () => {
      const fees = await this.currentFees()
      const tx = await this.sign({ to: this.address, data: '0x', gas: 21_000n, fees }, nonce)
      return this.broadcast(tx, 'replacement')
    })
  }

  private async broadcast(
    tx: SettlementTransaction,
    kind: 'fresh' | 'again' | 'replacement'
  ): Promise<BroadcastResult> {
    if (tx.raw == null) return 'unknown'
    // Announced first, so the block watcher picks its receipt out of the block that holds it without asking for it.
    const watcher = receiptWatcherFor(this.reader)
    await watcher.expect(tx.hash)
    const sync = kind === 'fresh' && this.answersWithReceipt
    try {
      if (sync) {
        const receipt = await this.sendSync(tx.raw)
        if (receipt !== 'unsupported') {
          // Mined in the same request (one request instead of a broadcast, a head and a block read).
          if (receipt != null) watcher.received(receipt)
          else watcher.slow(tx.hash)
          return 'accepted'
        }
      }
      await this.reader.sendRawTransaction({ serializedTransaction: tx.raw })
      watcher.broadcast()
      return 'accepted'
    } catch (err) {
      const failure = classifyRpcError(err)
      // (No receipt with the answer: a node that timed the request out is not mining on demand any more.)
      if (sync) watcher.slow(tx.hash)
      if (failure.kind === 'already-known') return 'accepted'
      if (failure.kind === 'no-gas-funds') return 'no-gas-funds'
      if (failure.kind === 'fee-too-low') return 'fee-too-low'
      if (failure.kind === 'infrastructure') return 'unknown'
      // "nonce too low" also answers a retry of a broadcast whose first answer was lost after it was mined.
      if (await this.known(tx.hash)) return 'accepted'
      if (failure.kind === 'nonce-too-low') return 'displaced'
      if (failure.kind === 'underpriced') return kind === 'replacement' ? 'underpriced' : 'displaced'
      return 'unknown'
    }
  }

  /**
   * `eth_sendRawTransactionSync` (EIP-7966): the node answers once the transaction is mined, with its receipt.
   * `'unsupported'` (and never asked again) when the node lacks the method; throws the node's refusal as a broadcast
   * would (nonce too low, underpriced, …), and `undefined` when it answered without a receipt.
   */
  private async sendSync(raw: Hex): Promise<TransactionReceipt | undefined | 'unsupported'> {
    let answer: unknown
    try {
      answer = await this.reader.request({ method: 'eth_sendRawTransactionSync', params: [raw] } as never)
    } catch (err) {
      const code = (err as { code?: unknown }).code
      const unsupported =
        code === -32601 ||
        code === -32602 ||
        /not (found|supported)|unsupported|does not exist/i.test((err as Error).message)
      if (!unsupported) throw err
      this.syncBroadcast = false
      return 'unsupported'
    }
    const receipt = answer as RpcTransactionReceipt | null
    return receipt?.transactionHash != null ? formatTransactionReceipt(receipt) : undefined
  }

  /** Whether the node knows the transaction (in its pool or mined); `false` also when it could not be asked. */
  async known(hash: Hash): Promise<boolean> {
    try {
      return (await this.reader.request({ method: 'eth_getTransactionByHash', params: [hash] })) != null
    } catch {
      return false
    }
  }

  /** The receipt of `hash`, `undefined` while none exists; throws when the node could not be asked. */
  receipt(hash: Hash): Promise<TransactionReceipt | undefined> {
    // Every member of a batch asks for the same receipt, often at the same moment (their waits end together): one
    // request answers all of them.
    let read = this.receiptReads.get(hash)
    if (read == null) {
      read = getReceipt(this.reader, hash).finally(() => this.receiptReads.delete(hash))
      this.receiptReads.set(hash, read)
    }
    return read
  }

  /** Receipt requests in flight, by hash. */
  private readonly receiptReads = new Map<Hash, Promise<TransactionReceipt | undefined>>()

  /** Polls for a receipt of any of `hashes` until `timeoutMs` (failed polls are retried). */
  waitForReceipt(
    hashes: readonly Hash[],
    timeoutMs: number,
    signal?: AbortSignal
  ): Promise<TransactionReceipt | undefined> {
    return waitForReceipt(this.reader, hashes, timeoutMs, signal)
  }
}
