import {
  type Address,
  erc20Abi,
  getAddress,
  type Hash,
  isAddressEqual,
  type PublicClient,
  parseEventLogs,
  type TransactionReceipt
} from 'viem'
import type { LoadUri } from './data-uri.ts'
import { decodeFeedbackFile, type FeedbackFile, feedbackHash, parseCaip10 } from './feedback-file.ts'
import type { FeedbackRecord } from './records.ts'

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
  /** Caches receipts across calls (they are immutable once mined). */
  receipts: Map<Hash, Promise<TransactionReceipt | undefined>>
  signal?: AbortSignal
}

/**
 * Checks that a feedback is backed by a real payment: the file behind `feedbackURI` hashes to `feedbackHash`, matches
 * the event, and its `proofOfPayment.txHash` is a successful transaction, mined no later than the feedback, that moved
 * at least `minPayment` of `asset` from the client to a payee.
 */
export async function verifyPayment(record: FeedbackRecord, ctx: VerifyContext): Promise<PaymentVerification> {
  if (record.feedbackURI === '') return { ok: false, reason: 'no-file' }
  let bytes: Uint8Array
  try {
    bytes = await ctx.load(record.feedbackURI, ctx.signal != null ? { signal: ctx.signal } : {})
  } catch (error) {
    ctx.signal?.throwIfAborted()
    return { ok: false, reason: 'unloadable', detail: error instanceof Error ? error.message : String(error) }
  }
  if (feedbackHash(bytes) !== record.feedbackHash) return { ok: false, reason: 'hash-mismatch' }
  let file: FeedbackFile
  try {
    file = decodeFeedbackFile(bytes)
  } catch (error) {
    return { ok: false, reason: 'invalid-file', detail: error instanceof Error ? error.message : String(error) }
  }
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
  let receiptPromise = ctx.receipts.get(txHash)
  if (receiptPromise == null) {
    receiptPromise = ctx.publicClient.getTransactionReceipt({ hash: txHash }).catch(() => undefined)
    ctx.receipts.set(txHash, receiptPromise)
  }
  const receipt = await receiptPromise
  if (receipt == null || receipt.status !== 'success') {
    ctx.receipts.delete(txHash)
    return { ok: false, reason: 'tx-not-found' }
  }
  if (receipt.blockNumber > record.blockNumber) return { ok: false, reason: 'payment-after-feedback' }
  let paid = 0n
  for (const log of parseEventLogs({ abi: erc20Abi, eventName: 'Transfer', logs: receipt.logs, strict: true })) {
    if (
      isAddressEqual(log.address, ctx.asset) &&
      isAddressEqual(log.args.from, record.clientAddress) &&
      isAddressEqual(log.args.to, payee)
    ) {
      paid += log.args.value
    }
  }
  if (paid === 0n) return { ok: false, reason: 'no-transfer' }
  if (paid < ctx.minPayment) return { ok: false, reason: 'underpaid' }
  return { ok: true, paid, txHash, file }
}
