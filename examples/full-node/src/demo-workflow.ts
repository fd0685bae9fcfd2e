import type { AgentConfig } from '@betar/executor'
import { type BetarNode, formatUsdc, sellAgent, workflowsOf } from '@betar/node'
import { verifyWorkflowReceipt } from '@betar/workflow'

/** The second agent of the demo workflow: turns text-stats' summary and keywords into a headline. */
export const headlineAgent: AgentConfig = {
  name: 'headline',
  description: 'Writes a headline from a summary and its keywords',
  capabilities: ['headline'],
  price: { amount: '100000' },
  inputSchema: {
    type: 'object',
    properties: { summary: { type: 'string' }, keywords: { type: 'array', items: { type: 'string' } } },
    required: ['summary', 'keywords']
  },
  executor: { kind: 'function' }
}

function headline(input: unknown): { headline: string } {
  const { summary, keywords } = input as { summary: string; keywords: string[] }
  return { headline: `${keywords.slice(0, 3).join(' · ').toUpperCase()} — ${summary}` }
}

/**
 * The demo's workflow step: a third node sells the `headline` agent; the buyer runs a two-hop workflow
 * (text-stats → headline, the second step reading the first one's output), verifies its receipt on-chain and prints
 * every node's final balance.
 */
export async function demoWorkflow(
  nodes: { buyer: BetarNode; seller: BetarNode; seller2: BetarNode },
  input: string,
  detail: (text: string) => void
): Promise<void> {
  const { buyer, seller, seller2 } = nodes
  const start = {
    buyer: await buyer.usdcBalance(),
    seller: await seller.usdcBalance(),
    seller2: await seller2.usdcBalance()
  }
  const sold = await sellAgent(seller2, headlineAgent, { executor: { functions: { headline } } })
  detail(`second seller ${seller2.peerId} sells "${sold.resource}" at ${formatUsdc(BigInt(sold.listing.price.amount))}`)
  // Meeting the second seller syncs its listing into the buyer's marketplace.
  await buyer.dial(seller2.multiaddrs())
  for (let i = 0; i < 200 && buyer.services.market.find({ capability: 'headline' }).length === 0; i++) {
    await new Promise((r) => setTimeout(r, 50))
  }
  const record = await workflowsOf(buyer).run({
    name: 'headline from text',
    input,
    budget: '400000',
    steps: [
      { id: 'stats', capability: 'text-analysis', maxPrice: '250000' },
      {
        id: 'headline',
        capability: 'headline',
        input: { summary: { $ref: '/steps/stats/output/summary' }, keywords: { $ref: '/steps/stats/output/keywords' } },
        maxPrice: '100000'
      }
    ]
  })
  detail(
    `workflow ${record.id}: ${record.status}, spent ${formatUsdc(BigInt(record.spent))} of ${formatUsdc(BigInt(record.budget))}`
  )
  for (const step of Object.values(record.steps)) {
    const paid = step.attempts.find((a) => a.state === 'paid')
    detail(
      `  ${step.id}: ${step.status}, ${paid?.listing ?? '-'} paid ${formatUsdc(BigInt(paid?.amount ?? '0'))} (tx ${paid?.settlementTx ?? '-'})`
    )
  }
  detail(`headline: ${JSON.stringify(record.steps.headline?.output)}`)
  const receipt = await workflowsOf(buyer).receipt(record.id)
  const check = await verifyWorkflowReceipt(receipt, buyer.clients.publicClient)
  detail(
    `receipt: ${receipt.entries.length} chained payment(s), head ${receipt.head}, verified on-chain: ${check.ok ? 'yes' : `no (${check.issues.join('; ')})`}`
  )
  if (record.status !== 'completed' || !check.ok) throw new Error(`the demo workflow ended ${record.status}`)
  for (const [name, node] of Object.entries(nodes)) {
    const end = await node.usdcBalance()
    const delta = end - start[name as keyof typeof start]
    detail(
      `${name.padEnd(7)} USDC ${formatUsdc(end)} (${delta >= 0n ? '+' : '-'}${formatUsdc(delta >= 0n ? delta : -delta)})`
    )
  }
}
