import { verifyListing } from '@betar/identity'
import type { Listing } from '@betar/marketplace-crdt'
import type { WorkflowRecord, Workflows, WorkflowsInit } from '@betar/workflow'
import type { Helia } from 'helia'
import { type Address, formatUnits, type PublicClient } from 'viem'
import { ListingVerificationError } from './errors.ts'
import type { BetarNode } from './node.ts'

/** The node's workflow service (`@betar/workflow`); every node built by `createBetarNode` runs one. */
export function workflowsOf(node: Pick<BetarNode, 'services'>): Workflows {
  const service = node.services.workflow
  if (service == null) throw new Error('this node runs no workflow service (it has no call journal)')
  return service
}

/** A workflow record as the REST API and `--json` show it: amounts also in decimal USDC. */
export function workflowView(record: WorkflowRecord) {
  return {
    ...record,
    budgetUsdc: formatUnits(BigInt(record.budget), 6),
    spentUsdc: formatUnits(BigInt(record.spent), 6)
  }
}

/** One line per workflow: id, status, spent of budget, steps done. */
export function workflowSummary(record: WorkflowRecord) {
  const steps = Object.values(record.steps)
  return {
    id: record.id,
    ...(record.name != null ? { name: record.name } : {}),
    status: record.status,
    budget: record.budget,
    spent: record.spent,
    steps: steps.length,
    completed: steps.filter((s) => s.status === 'completed').length,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt
  }
}

type VerifyListing = NonNullable<WorkflowsInit['verifyListing']>

/**
 * A listing check for workflows that waits until the node can run it: the workflow service is built with the libp2p
 * services, before Helia (which fetches registration files) exists, and may resume workflows as soon as it starts.
 */
export function deferredListingVerifier(): { verify: VerifyListing; set(fn: VerifyListing): void } {
  let set!: (fn: VerifyListing) => void
  const ready = new Promise<VerifyListing>((resolve) => {
    set = resolve
  })
  return {
    set,
    async verify(listing, options) {
      const signal = options.signal
      const fn =
        signal == null
          ? await ready
          : await Promise.race([
              ready,
              new Promise<never>((_, reject) => {
                signal.throwIfAborted()
                signal.addEventListener('abort', () => reject(signal.reason), { once: true })
              })
            ])
      await fn(listing, options)
    }
  }
}

/**
 * What `buyService` checks before paying, for workflow steps: the listing's ERC-8004 identity (the seller's peer id in
 * the registered file, the payee the agent's wallet). Throws {@link ListingVerificationError} with every reason.
 */
export function workflowListingVerifier(init: {
  publicClient: PublicClient
  identityRegistry: Address
  helia: Helia
  timeoutMs?: number
}): VerifyListing {
  return async (listing: Listing, options) => {
    const result = await verifyListing(listing, {
      publicClient: init.publicClient,
      identityRegistry: init.identityRegistry,
      helia: init.helia,
      timeoutMs: init.timeoutMs ?? 10_000,
      ...(options.signal != null ? { signal: options.signal } : {})
    })
    if (!result.ok) throw new ListingVerificationError(result.reasons)
  }
}
