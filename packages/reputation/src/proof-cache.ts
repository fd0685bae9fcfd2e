import { type Datastore, Key } from 'interface-datastore'
import {
  type Address,
  erc20Abi,
  getAddress,
  type Hash,
  type Hex,
  keccak256,
  parseEventLogs,
  stringToBytes,
  type TransactionReceipt
} from 'viem'

const enc = new TextEncoder()
const dec = new TextDecoder()

/** One ERC-20 `Transfer` log of a receipt. */
export interface ReceiptTransfer {
  /** The token contract that emitted the log. */
  token: Address
  from: Address
  to: Address
  /** Base units. */
  value: bigint
}

/** What a payment proof needs from a mined transaction's receipt. Final once mined (barring re-orgs). */
export interface PaymentReceipt {
  status: 'success' | 'reverted'
  blockNumber: bigint
  /** Every ERC-20 `Transfer` log of the receipt, in log order. */
  transfers: ReceiptTransfer[]
}

interface StoredReceipt {
  status: 'success' | 'reverted'
  blockNumber: string
  transfers: Array<{ token: Address; from: Address; to: Address; value: string }>
}

/** Reduces a viem receipt to a {@link PaymentReceipt}. */
export function toPaymentReceipt(receipt: TransactionReceipt): PaymentReceipt {
  return {
    status: receipt.status,
    blockNumber: receipt.blockNumber,
    transfers: parseEventLogs({ abi: erc20Abi, eventName: 'Transfer', logs: receipt.logs, strict: true }).map(
      (log) => ({
        token: getAddress(log.address),
        from: getAddress(log.args.from),
        to: getAddress(log.args.to),
        value: log.args.value
      })
    )
  }
}

/**
 * Verified payment evidence kept next to the event index, so that a feedback checked once is never fetched again:
 *
 * - **feedback files** keyed by their `feedbackHash` (keccak256 of the bytes — content-addressed, so immutable); a file
 *   is only stored after its bytes hashed to that value;
 * - **receipts** of mined payment transactions, keyed by transaction hash (reduced to {@link PaymentReceipt});
 * - **unloadable URIs**: a feedback file that did not load is not tried again for a while (a negative cache), so
 *   feedback pointing at files nobody serves costs one timeout, not one per scoring.
 *
 * Keys live under `/betar-reputation/<chainId>/<reputationRegistry>/<identityRegistry>/{file,receipt}/` of the same
 * `interface-datastore` as the {@link IndexStore}. Every method rejects with the datastore's error, or an `AbortError`
 * when `options.signal` aborts.
 */
export class ProofCache {
  readonly #ds: Datastore
  readonly #prefix: string

  constructor(
    datastore: Datastore,
    scope: { chainId: number; reputationRegistry: Address; identityRegistry: Address }
  ) {
    this.#ds = datastore
    this.#prefix = `/betar-reputation/${scope.chainId}/${scope.reputationRegistry.toLowerCase()}/${scope.identityRegistry.toLowerCase()}`
  }

  #key(kind: 'file' | 'receipt', id: Hex): Key {
    return new Key(`${this.#prefix}/${kind}/${id.toLowerCase()}`)
  }

  #missKey(uri: string): Key {
    // URIs are free text (any scheme): hashed, so no character can change the key's shape.
    return new Key(`${this.#prefix}/unloadable/${keccak256(stringToBytes(uri)).slice(2)}`)
  }

  /** Unix ms until which `uri` is known not to load (a failed load is not retried before), or `undefined`. */
  async unloadableUntil(uri: string, options: { signal?: AbortSignal } = {}): Promise<number | undefined> {
    const bytes = await this.#get(this.#missKey(uri), options)
    if (bytes == null) return undefined
    const until = Number(dec.decode(bytes))
    return Number.isFinite(until) ? until : undefined
  }

  /** Remembers that `uri` failed to load, until `until` (Unix ms). */
  async putUnloadable(uri: string, until: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#ds.put(this.#missKey(uri), enc.encode(String(until)), options)
  }

  async #get(key: Key, options: { signal?: AbortSignal }): Promise<Uint8Array | undefined> {
    if (!(await this.#ds.has(key, options))) return undefined
    return this.#ds.get(key, options)
  }

  /** The bytes of a feedback file whose keccak256 is `feedbackHash`, if one was verified before. */
  file(feedbackHash: Hex, options: { signal?: AbortSignal } = {}): Promise<Uint8Array | undefined> {
    return this.#get(this.#key('file', feedbackHash), options)
  }

  /** Keeps `bytes`, which the caller checked hash to `feedbackHash` (keccak256). */
  async putFile(feedbackHash: Hex, bytes: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#ds.put(this.#key('file', feedbackHash), bytes, options)
  }

  /** The stored receipt of `txHash`, if any. */
  async receipt(txHash: Hash, options: { signal?: AbortSignal } = {}): Promise<PaymentReceipt | undefined> {
    const bytes = await this.#get(this.#key('receipt', txHash), options)
    if (bytes == null) return undefined
    const s = JSON.parse(dec.decode(bytes)) as StoredReceipt
    return {
      status: s.status,
      blockNumber: BigInt(s.blockNumber),
      transfers: s.transfers.map((t) => ({ ...t, value: BigInt(t.value) }))
    }
  }

  /** Keeps the receipt of a mined transaction (only call it for blocks the index treats as final). */
  async putReceipt(txHash: Hash, receipt: PaymentReceipt, options: { signal?: AbortSignal } = {}): Promise<void> {
    const stored: StoredReceipt = {
      status: receipt.status,
      blockNumber: receipt.blockNumber.toString(),
      transfers: receipt.transfers.map((t) => ({ ...t, value: t.value.toString() }))
    }
    await this.#ds.put(this.#key('receipt', txHash), enc.encode(JSON.stringify(stored)), options)
  }
}
