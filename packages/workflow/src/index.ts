/**
 * @packageDocumentation
 *
 * Paid multi-agent workflows for Betar nodes: a DAG of steps, each buying one job from the best marketplace listing
 * for a capability (or a given listing) over x402, with input templates reading the workflow input and earlier
 * outputs (JSON Pointers), inputs checked against the listings' schemas before anything is paid, a total budget and
 * per-step caps, fallback to the next seller, persistence and resume after a crash (paid calls re-asked under their
 * correlation id, never paid twice), cancellation, and a hash-chained receipt anyone can verify against the chain.
 *
 * @example
 * ```ts
 * import { workflows } from '@betar/workflow'
 *
 * const node = await createLibp2p({
 *   services: {
 *     x402Client: x402Client({ signer, asset, journal, publicClient }),
 *     market: marketplace(),
 *     workflow: workflows({ journal, asset: { network: asset.network, address: asset.address } })
 *   }
 * })
 * const done = await node.services.workflow.run({
 *   budget: '600000',
 *   input: { text: 'Betar lets agents sell work to other agents.' },
 *   steps: [
 *     { id: 'stats', capability: 'text-analysis', input: { $ref: '/input/text' }, maxPrice: '250000' },
 *     { id: 'translate', capability: 'translation', input: { text: { $ref: '/steps/stats/output/summary' } }, maxPrice: '300000' }
 *   ]
 * })
 * ```
 */

// First: installs the Node 20 shims (see node20.ts) before anything else runs.
import './node20.ts'
import type { X402HandlerContext } from '@betar/x402-libp2p'
import { type Workflows, type WorkflowsComponents, type WorkflowsInit, WorkflowsService } from './workflows.ts'

export { canonicalJson, hashJson } from './canonical.ts'
export * from './constants.ts'
export {
  type PlannedStep,
  parseWorkflowDefinition,
  planToDefinition,
  planWorkflow,
  type WorkflowDefinition,
  WorkflowDefinitionSchema,
  type WorkflowPlan
} from './definition.ts'
export {
  NoSellerError,
  StepFailedError,
  StepInputError,
  WorkflowBudgetError,
  WorkflowCycleError,
  WorkflowDefinitionError,
  WorkflowNotFoundError,
  WorkflowServiceStoppedError,
  WorkflowStateError
} from './errors.ts'
export { formatPointer, JsonPointerError, parsePointer, resolvePointer } from './pointer.ts'
export {
  type ReceiptVerification,
  receiptGenesis,
  receiptSpent,
  verifyWorkflowReceipt,
  type WorkflowReceipt,
  type WorkflowReceiptEntry,
  workflowReceipt
} from './receipt.ts'
export { WorkflowStore } from './store.ts'
export { resolveTemplate, type Template, type TemplateContext, templateRefs } from './template.ts'
export type * from './types.ts'
export type {
  SubcontractOptions,
  SubmitOptions,
  WorkflowEvents,
  Workflows,
  WorkflowsComponents,
  WorkflowsInit
} from './workflows.ts'

/** The workflow service: `services: { workflow: workflows({ journal, asset }) }` beside `x402Client` and `market`. */
export function workflows(init: WorkflowsInit): (components: WorkflowsComponents) => Workflows {
  return (components) => new WorkflowsService(components, init)
}

/**
 * What the buyer of the call a handler serves paid (atomic units): the amount of its confirmed settlement, or
 * `fallback` (the resource's price) when the settlement does not state it. Pass it to `subcontract` as `paid`.
 */
export function paidFor(context: X402HandlerContext, fallback: bigint): bigint {
  const amount = (context.settlement as { amount?: string } | undefined)?.amount
  return amount != null && /^[0-9]{1,78}$/.test(amount) ? BigInt(amount) : fallback
}
