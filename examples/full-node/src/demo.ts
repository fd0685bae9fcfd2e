import '../../../tools/polyfills.ts'
import { startDevnet } from '@betar/devnet'
import { buyService, createBetarNode, formatUsdc, sellAgent } from '@betar/node'
import { STARRED_TAG } from '@betar/reputation'
import { demoAgent } from './demo-agent.ts'
import { demoWorkflow } from './demo-workflow.ts'

const INPUT =
  'Betar is a peer-to-peer marketplace where AI agents sell their work to other agents. ' +
  'Listings replicate over GossipSub, identities live on ERC-8004, and payments settle in USDC over libp2p.'

const step = (n: number, text: string) => console.log(`\n[${n}] ${text}`)
const detail = (text: string) => console.log(`    ${text}`)

async function main(): Promise<void> {
  step(1, 'Starting the embedded devnet (anvil + USDC + ERC-8004 registries)')
  const devnet = await startDevnet({ accounts: 3 })
  const [sellerAccount, buyerAccount, seller2Account] = devnet.accounts
  if (sellerAccount == null || buyerAccount == null || seller2Account == null) {
    throw new Error('the devnet has too few accounts')
  }
  detail(`chain ${devnet.network.caip2} at ${devnet.rpcUrl}, USDC ${devnet.network.usdc.address}`)

  const common = { network: devnet.network, rpcUrl: devnet.rpcUrl, chain: devnet.chain }
  const seller = await createBetarNode({ ...common, wallet: sellerAccount.account })
  const buyer = await createBetarNode({
    ...common,
    wallet: buyerAccount.account,
    bootstrap: seller.multiaddrs().map(String)
  })
  try {
    step(2, 'Two Betar nodes on loopback')
    detail(`seller ${seller.peerId} at ${seller.multiaddrs().join(', ')} (wallet ${seller.wallet.address})`)
    detail(`buyer  ${buyer.peerId} (wallet ${buyer.wallet.address})`)
    const buyerStart = await buyer.usdcBalance()
    const sellerStart = await seller.usdcBalance()
    detail(`USDC balances: buyer ${formatUsdc(buyerStart)}, seller ${formatUsdc(sellerStart)}`)

    const agent = demoAgent()
    step(3, `Seller puts the "${agent.name}" agent (${agent.executor.kind}) on sale`)
    const sold = await sellAgent(seller, agent)
    detail(`ERC-8004 agentId ${sold.registration.agentId} in ${sold.registration.agentRegistry}`)
    detail(`registration file ${sold.registration.uri} (on the seller's Helia)`)
    detail(
      `agentWallet ${sold.wallet.wallet}` +
        (sold.wallet.transactionHash != null ? ` bound (tx ${sold.wallet.transactionHash})` : ' (already bound)')
    )
    detail(`x402 resource "${sold.resource}" at ${formatUsdc(BigInt(sold.listing.price.amount))} per call`)
    detail(
      `listing ${sold.listing.seller}/${sold.listing.id} signed and published, capabilities ${sold.listing.capabilities.join(', ')}`
    )

    step(4, 'Buyer looks for "text-analysis", verifies, pays, gets the result and rates the agent')
    const maxPrice = 500_000n
    const purchase = await buyService(buyer, 'text-analysis', INPUT, { maxPrice, rating: 95 })
    detail(
      `discovered ${purchase.discovered.length} listing(s); chose ${purchase.listing.name} from ${purchase.listing.seller}`
    )
    detail(
      `identity verified: ${purchase.verification?.ok === true ? 'yes' : 'no'} (agentId ${purchase.listing.erc8004?.agentId})`
    )
    const before = purchase.reputation?.[STARRED_TAG]
    detail(
      `reputation before: ${before == null ? 'no feedback yet' : `${before.score?.toFixed(1)} from ${before.count} client(s)`}`
    )
    detail(`paid ${formatUsdc(purchase.call.amount)} (max ${formatUsdc(maxPrice)}) over ${purchase.call.protocol}`)
    detail(
      `settlement tx ${purchase.call.settlement?.transaction} (${purchase.call.settlementCheck} on the buyer's chain reader), correlation id ${purchase.correlationId}`
    )
    detail(`result: ${JSON.stringify(purchase.output, null, 2).split('\n').join('\n    ')}`)
    const feedback = purchase.feedback?.result
    detail(
      feedback != null
        ? `feedback ${feedback.feedbackURI} → Reputation Registry tx ${feedback.txHash}`
        : `feedback pending: ${purchase.warnings.join('; ')}`
    )

    step(5, 'Final state, read on-chain')
    const buyerEnd = await buyer.usdcBalance()
    const sellerEnd = await seller.usdcBalance()
    detail(`buyer  USDC ${formatUsdc(buyerEnd)} (${formatUsdc(buyerEnd - buyerStart)})`)
    detail(`seller USDC ${formatUsdc(sellerEnd)} (+${formatUsdc(sellerEnd - sellerStart)})`)
    const summary = (await seller.reputation.summary(sold.registration.agentId))[STARRED_TAG]
    detail(
      summary == null
        ? 'seller score: no counted feedback'
        : `seller score (${STARRED_TAG}): ${summary.score?.toFixed(1)} from ${summary.count} paying client(s), ` +
            `${formatUsdc(summary.paidVolume)} paid, confidence ${summary.confidence.toFixed(2)}`
    )

    step(6, 'Paid workflow: text-stats → headline (a second agent on a third node), receipt checked on-chain')
    const seller2 = await createBetarNode({ ...common, wallet: seller2Account.account })
    try {
      await demoWorkflow({ buyer, seller, seller2 }, INPUT, detail)
    } finally {
      await seller2.stop()
    }
  } finally {
    await buyer.stop()
    await seller.stop()
    await devnet.stop()
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  }
)
