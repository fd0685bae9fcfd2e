import {
  type Address,
  getAddress,
  type Hash,
  isAddressEqual,
  type PublicClient,
  TransactionReceiptNotFoundError
} from 'viem'
import type { LoadUri } from './data-uri.ts'
import { ReputationError } from './errors.ts'
import {
  decodeFeedbackFile,
  type FeedbackFile,
  feedbackHash,
  MAX_FEEDBACK_FILE_BYTES,
  parseCaip10
} from './feedback-file.ts'
import { type PaymentReceipt, type ProofCache, toPaymentReceipt } from './proof-cache.ts'
import type { FeedbackRecord } from './records.ts'
import { valueInRange } from './value-range.ts'

/** Why a feedback does not count. */
export type RejectionReason =
  | 'revoked'
  | 'excluded-address'
  | 'no-file'
  | 'unloadable'
  | 'hash-mismatch'
  | 'invalid-file'
  | 'file-mismatch'
  | 'no-proof'
  | 'proof-mismatch'
  | 'wrong-payee'
  | 'tx-not-found'
  | 'no-transfer'
  | 'underpaid'
  | 'payment-after-feedback'
  | 'reused-payment'
  /** The value is outside its tag's range ({@link TAG_VALUE_RANGES}, e.g. `starred` 0–100). */
  | 'value-out-of-range'

/** The outcome of checking one feedback's payment proof. */
export type PaymentVerification =
  | { ok: true; paid: bigint; txHash: Hash; file: FeedbackFile }
  | { ok: false; reason: RejectionReason; detail?: string }

/** What {@link verifyPayment} needs. @internal */
export interface VerifyContext {
  publicClient: PublicClient
  load: LoadUri
  chainId: number
  identityRegistry: Address
  asset: Address
  /** Addresses a payment may go to (the agent's wallet, or its owner when no wallet is set). */
  payees: readonly Address[]
  minPayment: bigint
  /**
   * Receipt lookups shared across calls (a mined receipt is immutable); a lookup that finds nothing is dropped so the
   * next call asks again.
   */
  receipts: Map<Hash, Promise<PaymentReceipt | undefined>>
  /**
   * Verified evidence persisted across processes: a file whose bytes hashed to `feedbackHash` once and the receipts of
   * payments mined no later than their feedback are read from here instead of the network.
   */
  cache?: ProofCache
  signal?: AbortSignal
}

/**
 * Checks that a feedback is backed by a real payment: the file behind `feedbackURI` hashes to `feedbackHash`, matches
 * the event, and its `proofOfPayment.txHash` is a successful transaction, mined no later than the feedback, that moved
 * at least `minPayment` of `asset` from the client to a payee. A file that cannot be loaded (within the loader's own
 * timeout) gives `unloadable`; a transaction the RPC does not know gives `tx-not-found`.
 *
 * Rejects when `ctx.signal` aborts, and with a {@link ReputationError} when the RPC fails otherwise while reading the
 * receipt (a flaky RPC must fail the call, not silently drop the feedback).
 */
export async function verifyPayment(record: FeedbackRecord, ctx: VerifyContext): Promise<PaymentVerification> {
  if (!valueInRange(record.tag1, record.value, record.valueDecimals)) return { ok: false, reason: 'value-out-of-range' }
  const loaded = await loadVerifiedFile(record, ctx)
  if ('reason' in loaded) return { ok: false, ...loaded }
  let file: FeedbackFile
  try {
    file = decodeFeedbackFile(loaded.bytes)
  } catch (error) {
    return { ok: false, reason: 'invalid-file', detail: error instanceof Error ? error.message : String(error) }
  }
  // Cached only once it hashed to the event *and* decoded within its bounds: the cache keeps verified evidence, not
  // whatever bytes a feedback named (a 1 MiB file refused as invalid stayed on disk for good; review of issue 13).
  if (loaded.fresh)
    await ctx.cache?.putFile(record.feedbackHash, loaded.bytes, ctx.signal != null ? { signal: ctx.signal } : {})
  const registry = parseCaip10(file.agentRegistry)
  const client = parseCaip10(file.clientAddress)
  if (
    BigInt(file.agentId) !== record.agentId ||
    registry.chainId !== ctx.chainId ||
    !isAddressEqual(registry.address, ctx.identityRegistry) ||
    client.chainId !== ctx.chainId ||
    !isAddressEqual(client.address, record.clientAddress) ||
    BigInt(file.value) !== record.value ||
    file.valueDecimals !== record.valueDecimals
  ) {
    return { ok: false, reason: 'file-mismatch' }
  }
  const proof = file.proofOfPayment
  if (proof == null) return { ok: false, reason: 'no-proof' }
  if (
    proof.chainId !== ctx.chainId ||
    !isAddressEqual(getAddress(proof.asset), ctx.asset) ||
    !isAddressEqual(getAddress(proof.fromAddress), record.clientAddress)
  ) {
    return { ok: false, reason: 'proof-mismatch' }
  }
  const payee = getAddress(proof.toAddress)
  if (!ctx.payees.some((p) => isAddressEqual(p, payee))) return { ok: false, reason: 'wrong-payee' }
  const txHash = proof.txHash as Hash
  const receipt = await paymentReceipt(txHash, record, ctx)
  if (receipt == null || receipt.status !== 'success') return { ok: false, reason: 'tx-not-found' }
  if (receipt.blockNumber > record.blockNumber) return { ok: false, reason: 'payment-after-feedback' }
  let paid = 0n
  for (const t of receipt.transfers) {
    if (
      isAddressEqual(t.token, ctx.asset) &&
      isAddressEqual(t.from, record.clientAddress) &&
      isAddressEqual(t.to, payee)
    ) {
      paid += t.value
    }
  }
  if (paid === 0n) return { ok: false, reason: 'no-transfer' }
  if (paid < ctx.minPayment) return { ok: false, reason: 'underpaid' }
  return { ok: true, paid, txHash, file }
}

/**
 * The feedback file's bytes, checked against `feedbackHash`: from the proof cache when it was verified before, from the
 * `data:` URI itself, or through `ctx.load` (then cached). Only a load failure other than the caller's abort becomes
 * `unloadable`.
 */
async function loadVerifiedFile(
  record: FeedbackRecord,
  ctx: VerifyContext
): Promise<{ bytes: Uint8Array; fresh: boolean } | { reason: RejectionReason; detail?: string }> {
  const uri = record.feedbackURI
  if (uri === '') return { reason: 'no-file' }
  const opts = ctx.signal != null ? { signal: ctx.signal } : {}
  const inline = uri.startsWith('data:')
  if (!inline) {
    const cached = await ctx.cache?.file(record.feedbackHash, opts)
    if (cached != null) return { bytes: cached, fresh: false }
  }
  let bytes: Uint8Array
  try {
    bytes = await ctx.load(uri, opts)
  } catch (error) {
    ctx.signal?.throwIfAborted()
    return { reason: 'unloadable', detail: error instanceof Error ? error.message : String(error) }
  }
  if (bytes.byteLength > MAX_FEEDBACK_FILE_BYTES) {
    return { reason: 'invalid-file', detail: `${bytes.byteLength} bytes, over ${MAX_FEEDBACK_FILE_BYTES}` }
  }
  if (feedbackHash(bytes) !== record.feedbackHash.toLowerCase()) return { reason: 'hash-mismatch' }
  return { bytes, fresh: !inline }
}

/**
 * The receipt of `txHash` (`undefined` when the chain does not know it): shared in-flight lookups, then the proof
 * cache, then the RPC. A receipt mined no later than `record` — a block the index already holds — is cached.
 */
function paymentReceipt(txHash: Hash, record: FeedbackRecord, ctx: VerifyContext): Promise<PaymentReceipt | undefined> {
  const key = txHash.toLowerCase() as Hash
  const pending = ctx.receipts.get(key)
  if (pending != null) return pending
  const opts = ctx.signal != null ? { signal: ctx.signal } : {}
  const lookup = (async () => {
    const cached = await ctx.cache?.receipt(key, opts)
    if (cached != null) return cached
    let receipt: PaymentReceipt
    try {
      receipt = toPaymentReceipt(await ctx.publicClient.getTransactionReceipt({ hash: txHash }))
    } catch (error) {
      if (error instanceof TransactionReceiptNotFoundError) return undefined
      throw new ReputationError(`Could not read the receipt of ${txHash}`, {
        cause: error,
        details: (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? ''
      })
    }
    if (receipt.blockNumber <= record.blockNumber) await ctx.cache?.putReceipt(key, receipt, opts)
    return receipt
  })()
  ctx.receipts.set(key, lookup)
  lookup.then(
    (r) => {
      if (r == null) ctx.receipts.delete(key)
    },
    () => ctx.receipts.delete(key)
  )
  return lookup
}
