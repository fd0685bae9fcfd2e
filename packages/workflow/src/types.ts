import type { Listing } from '@betar/marketplace-crdt'
import type { WorkflowDefinition } from './definition.ts'
import type { WorkflowReceiptEntry } from './receipt.ts'

/** Where a workflow is. `running` ones are resumed when the node starts again. */
export type WorkflowStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled'

/**
 * Where a step is. `unresolved`: a payment was sent and no outcome could be read after every re-ask — it is re-asked
 * (never paid again) when the workflow is resumed.
 */
export type StepStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled' | 'unresolved'

/**
 * One try of a step on one seller. Written (with its correlation id and body) before the call, so a restart re-asks
 * the same call instead of paying again.
 */
export interface AttemptRecord {
  correlationId: string
  /** `<seller>/<listing id>` */
  listing: string
  seller: string
  resource: string
  multiaddrs: string[]
  payTo: string
  /** The call's `maxAmount` (atomic units): the listed price, never more than the cap or what the budget has left. */
  maxAmount: string
  /** The request body (base64 of the JSON input). */
  body: string
  /**
   * `calling`: sent or about to be (outcome unknown); `paid`: result received, `amount` settled; `refunded`: the handler
   * failed and the payment came back (`refund`); `charged`: paid with no result and no refund seen; `not-paid`: failed
   * with nothing moved; `interrupted`: paid call with no outcome yet (re-asked on resume).
   */
  state: 'calling' | 'paid' | 'refunded' | 'charged' | 'not-paid' | 'interrupted'
  /** Settled amount (atomic units). */
  amount?: string
  settlementTx?: string
  payer?: string
  refund?: { transaction: string; amount: string; check: string }
  error?: string
  startedAt: number
  endedAt?: number
}

export interface StepRecord {
  id: string
  status: StepStatus
  attempts: AttemptRecord[]
  /** The step's output (the result JSON-decoded, or its text). */
  output?: unknown
  /** `0x` SHA-256 of the result bytes. */
  resultHash?: string
  error?: string
  /** Listings refused for this step and why (over the cap, input not matching their schema). */
  skipped?: string[]
  startedAt?: number
  endedAt?: number
}

/** A workflow as stored in the node's datastore. */
export interface WorkflowRecord {
  v: 1
  id: string
  name?: string
  /** The validated definition (amounts as strings). */
  definition: WorkflowDefinition
  /** keccak256 of the canonical definition. */
  definitionHash: `0x${string}`
  status: WorkflowStatus
  /** CAIP-2 network and token address the workflow pays in. */
  network: string
  asset: string
  budget: string
  /** Settled amounts minus refunds (atomic units). */
  spent: string
  steps: Record<string, StepRecord>
  /** The receipt chain: one entry per settled payment, in the order the results arrived. */
  receipt: WorkflowReceiptEntry[]
  /** Set for a sub-contract: what the buyer paid and the margin kept. */
  parent?: { paid: string; marginBps: number; correlationId?: string }
  error?: string
  createdAt: number
  updatedAt: number
}

/** A listing source: the marketplace service (its `find`, `get` and optionally `findSellers`). */
export interface ListingSource {
  find(options?: { capability?: string; maxPrice?: bigint }): Listing[]
  get(key: string): Listing | undefined
  findSellers?(capability: string, options?: { maxPrice?: bigint; signal?: AbortSignal }): Promise<Listing[]>
}
