import {
  type Account,
  type Chain,
  type Hash,
  type Hex,
  keccak256,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient
} from 'viem'

/** Fees are re-read at most this often (one block on Base is 2 s). */
const FEE_TTL_MS = 1_000

/** Receipt polling back-off: fast at first (local chains mine in milliseconds), then every 100 ms. */
const POLL_STEPS_MS = [2, 4, 8, 16, 32, 64]
const POLL_MAX_MS = 100

/**
 * Sends the seller's settlement transactions. Only nonce assignment, signing and the raw broadcast are serialised —
 * receipts are awaited in parallel — and for a local account the transaction is signed here, so its hash is known
 * before it is broadcast. Written by hand because viem's `writeContract` re-fills nonce, gas and fees per call
 * (3 RPCs) and its receipt waiter polls on an interval; the bench measures both (see bench/).
 */
export class Submitter {
  private readonly wallet: WalletClient<Transport, Chain, Account>
  private readonly reader: PublicClient
  private queue: Promise<unknown> = Promise.resolve()
  private nonce: number | undefined
  private fees: { at: number; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | undefined

  constructor(wallet: WalletClient<Transport, Chain, Account>, reader: PublicClient) {
    this.wallet = wallet
    this.reader = reader
  }

  /** Broadcasts a call to `to` with `data` and `gas`; resolves with the transaction hash once the node accepted it. */
  send(to: `0x${string}`, data: Hex, gas: bigint): Promise<Hash> {
    const next = this.queue.then(() => this.sendNow(to, data, gas))
    this.queue = next.catch(() => undefined)
    return next
  }

  private async sendNow(to: `0x${string}`, data: Hex, gas: bigint): Promise<Hash> {
    const account = this.wallet.account
    if (account.type !== 'local' || account.signTransaction == null) {
      return this.wallet.sendTransaction({ account, chain: this.wallet.chain, to, data, gas })
    }
    for (let attempt = 0; ; attempt++) {
      this.nonce ??= await this.reader.getTransactionCount({ address: account.address, blockTag: 'pending' })
      const fees = await this.currentFees()
      const signed = await account.signTransaction({
        chainId: this.wallet.chain.id,
        type: 'eip1559',
        nonce: this.nonce,
        to,
        data,
        gas,
        value: 0n,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas
      })
      try {
        await this.reader.sendRawTransaction({ serializedTransaction: signed })
        this.nonce++
        return keccak256(signed)
      } catch (err) {
        // Another sender used this account, or a transaction was dropped: re-read the nonce once and retry.
        this.nonce = undefined
        if (attempt > 0 || !/nonce/i.test((err as Error).message)) throw err
      }
    }
  }

  private async currentFees(): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
    const now = Date.now()
    if (this.fees == null || now - this.fees.at > FEE_TTL_MS) {
      const { maxFeePerGas, maxPriorityFeePerGas } = await this.reader.estimateFeesPerGas()
      this.fees = { at: now, maxFeePerGas, maxPriorityFeePerGas }
    }
    return this.fees
  }

  /** Polls for the receipt until `timeoutMs`; `undefined` when it did not arrive in time. */
  async receipt(hash: Hash, timeoutMs: number, signal?: AbortSignal): Promise<TransactionReceipt | undefined> {
    const deadline = Date.now() + timeoutMs
    for (let i = 0; ; i++) {
      signal?.throwIfAborted()
      try {
        return await this.reader.getTransactionReceipt({ hash })
      } catch (err) {
        if ((err as Error).name !== 'TransactionReceiptNotFoundError') throw err
      }
      const wait = Math.min(POLL_STEPS_MS[i] ?? POLL_MAX_MS, deadline - Date.now())
      if (wait <= 0) return undefined
      await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }
}
