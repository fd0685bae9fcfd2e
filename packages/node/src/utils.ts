/**
 * @packageDocumentation
 *
 * The parts of `@betar/node` that need no running node and load neither libp2p, Helia nor the x402 client: the errors,
 * USDC helpers, the data dir's datastore, and the records a node keeps (sales, feedback jobs, purchases). Tools that
 * read a node's data dir without starting one (`betar calls`, `sales`, `reputation`, `wallet`, `agents`) import this
 * entry point and start in a fraction of the time. `@betar/node` exports all of it too.
 *
 * @example
 * ```ts
 * import { formatUsdc, openLevelDatastore, SalesLedger } from '@betar/node/utils'
 *
 * const datastore = await openLevelDatastore('./seller/datastore')
 * for (const agent of await new SalesLedger(datastore).earnings()) console.log(agent.agent, formatUsdc(BigInt(agent.earned)))
 * ```
 */

export {
  AgentUnhealthyError,
  DataDirInUseError,
  InsufficientFundsError,
  ListingVerificationError,
  NoSellerError,
  ReputationTooLowError,
  SellerUnreachableError
} from './errors.ts'
export { type FeedbackJob, type FeedbackStorage, readFeedbackJob } from './feedback-job.ts'
export { openLevelDatastore } from './level.ts'
export { decodeOutput, MAX_OUTPUT_DEPTH } from './output.ts'
export { type PurchaseMetadata, purchaseMetadata } from './purchase-metadata.ts'
export { type AgentEarnings, type SaleRecord, SalesLedger, type SalesQuery } from './sales.ts'
export { formatUsdc, usdcBalance } from './usdc.ts'
