/**
 * @packageDocumentation
 *
 * x402 payments natively on libp2p streams. A buyer calls a seller's resource over `/x402/libp2p/2.0.0`; the seller
 * answers with an x402 v2 PaymentRequired carrying a 32-byte challenge, the buyer signs an EIP-3009 USDC
 * authorization whose nonce is that challenge, and the seller verifies, settles (its own wallet or an x402
 * facilitator), runs the handler and returns the result — with no HTTP on the path. The payment objects are the x402
 * v2 data model verbatim. See `docs/spec/x402-libp2p.md` for the normative protocol.
 *
 * @example
 * ```ts
 * import { x402Server, x402Client, localSettler } from '@betar/x402-libp2p'
 *
 * const seller = await createLibp2p({ …, services: {
 *   x402: x402Server({ settler: localSettler({ walletClient }), asset: usdc })
 * } })
 * seller.services.x402.register('echo', { price: { amount: 10_000n }, handler: (req) => req.body })
 *
 * const buyer = await createLibp2p({ …, services: { x402: x402Client({ signer: account, asset: usdc }) } })
 * const { body, settlement } = await buyer.services.x402.call(seller.getMultiaddrs(), 'echo', input, {
 *   maxAmount: 10_000n,
 *   payTo: sellerWallet
 * })
 * ```
 */

// First: installs the Node 20 shims (see node20.ts) before anything else runs.
import './node20.ts'

export { approve, type PaymentPolicy } from './client/approval.ts'
export { type BudgetInit, SpendingBudget } from './client/budget.ts'
export { x402Client } from './client/index.ts'
export {
  type CallJournal,
  type CallJournalEntry,
  type CallJournalQuery,
  type CallJournalState,
  type CallJournalSummary,
  datastoreCallJournal
} from './client/journal.ts'
export { type PaymentSigner, signExactPayment } from './client/sign.ts'
export type * from './client/types.ts'
export * from './constants.ts'
export {
  BudgetExceededError,
  CallConflictError,
  CallJournalCorruptError,
  CallNotFoundError,
  ErrorCode,
  type ErrorCodeName,
  ExecutionFailedError,
  InvalidCallBodyError,
  InvalidRequestError,
  InvalidResourceError,
  PaymentInterruptedError,
  PaymentNotApprovedError,
  PaymentTakenError,
  ProtocolViolationError,
  RETRYABLE,
  type RefundInfo,
  ResultTooLargeError,
  SessionClosedError,
  X402Error
} from './errors.ts'
export { buildRequirements, matchAccepted, type PaymentAsset, type Price, requirementsHash } from './requirements.ts'
export { x402Server } from './server/index.ts'
export type * from './server/types.ts'
export type { BatchInit } from './settlement/batch.ts'
export { type FacilitatorSettlerInit, facilitatorSettler } from './settlement/facilitator.ts'
export { type LocalSettlerInit, localSettler } from './settlement/local.ts'
export { SettlementNonceManager } from './settlement/nonce-manager.ts'
export { ReceiptWatcher, type ReceiptWatcherInit, receiptWatcherFor } from './settlement/receipt-watcher.ts'
export {
  type Refunder,
  type RefundOutcome,
  type RefundRequest,
  type WalletRefunderInit,
  walletRefunder
} from './settlement/refund.ts'
export {
  type SettlementAttempt,
  type SettlementOutcome,
  type SettlementTransaction,
  type SettleOptions,
  type Settler,
  SettlerUnavailableError
} from './settlement/settler.ts'
