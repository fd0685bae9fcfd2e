/**
 * @packageDocumentation
 *
 * Payment-backed ERC-8004 reputation for Betar. Buyers rate agents after a paid x402 job with a feedback file that
 * carries the settlement as `proofOfPayment` ({@link giveFeedback}); an incremental, persisted index of the
 * Reputation and Identity Registry events ({@link Indexer}) feeds a Sybil-resistant scorer ({@link createReputation})
 * that only counts feedback whose payment verifies on-chain, excludes the agent's owners, operators and wallets,
 * gives one vote per client weighted by log-paid volume and time decay, and shrinks toward a prior. Proofs verified
 * once are cached in the datastore ({@link ProofCache}), and feedback whose file cannot be loaded is reported as
 * `unverified` instead of counted, so a score does not depend on which peers are online.
 * Validation Registry helpers are included ({@link requestValidation}, {@link respondValidation}).
 *
 * @example
 * ```ts
 * import { createReputation, giveFeedback, storeAsDataUri } from '@betar/reputation'
 * import { MemoryDatastore } from 'datastore-core'
 *
 * await giveFeedback({ walletClient, publicClient, reputationRegistry, agentId, agentRegistry, value: 90, proof,
 *   store: storeAsDataUri })
 * const reputation = createReputation({ publicClient, identityRegistry, reputationRegistry, asset: usdc,
 *   datastore: new MemoryDatastore() })
 * const { starred } = await reputation.summary(agentId)
 * ```
 */

// First: installs the Node 20 shims (see node20.ts) before anything else runs.
import './node20.ts'

export type { SignerClient, WriteClients } from './clients.ts'
export {
  fromDataUri,
  type LoadUri,
  type StoreBytes,
  storeAsDataUri,
  toDataUri,
  withDataUriSupport
} from './data-uri.ts'
export {
  FeedbackFileError,
  FeedbackLoadError,
  NotAuthorizedError,
  NotValidatorError,
  RegistryCallError,
  ReputationError,
  type ReputationErrorOptions,
  SelfFeedbackError,
  TransactionFailedError,
  ValidationNotFoundError
} from './errors.ts'
export {
  caip10Account,
  decodeFeedbackFile,
  encodeFeedbackFile,
  type FeedbackFile,
  feedbackFileSchema,
  feedbackHash,
  MAX_FEEDBACK_FILE_BYTES,
  MAX_FEEDBACK_FILE_DEPTH,
  type ProofOfPayment,
  parseCaip10,
  proofOfPaymentSchema
} from './feedback-file.ts'
export {
  buildFeedbackFile,
  type GiveFeedbackParameters,
  type GiveFeedbackResult,
  giveFeedback,
  type RevokeFeedbackParameters,
  revokeFeedback,
  STARRED_TAG
} from './give-feedback.ts'
export { IndexStore, type IndexWrite } from './index-store.ts'
export { Indexer, type IndexerOptions, type SyncResult } from './indexer.ts'
export { type FeedbackBlockstore, ipfsFeedbackStorage } from './ipfs.ts'
export {
  type PaymentReceipt,
  ProofCache,
  type ReceiptTransfer,
  toPaymentReceipt
} from './proof-cache.ts'
export type { FeedbackRecord, PartyRole } from './records.ts'
export {
  createReputation,
  type FeedbackOptions,
  type Reputation,
  type ReputationOptions,
  type ReputationReport,
  type SummaryOptions
} from './reputation.ts'
export {
  type CountedFeedback,
  DEFAULT_HALF_LIFE_SECONDS,
  DEFAULT_PRIORS,
  type Prior,
  type ScoreParameters,
  scoreTag,
  type TagScore,
  type TagSummary
} from './score.ts'
export { type FeedbackStatus, type ScoredFeedback, type SummarizeParameters, summarize } from './summarize.ts'
export {
  getValidationStatus,
  type RequestValidationParameters,
  type RespondValidationParameters,
  requestValidation,
  respondValidation,
  type ValidationStatus
} from './validation.ts'
export { TAG_VALUE_RANGES, valueInRange } from './value-range.ts'
export { type PaymentVerification, type RejectionReason, type VerifyContext, verifyPayment } from './verify.ts'
