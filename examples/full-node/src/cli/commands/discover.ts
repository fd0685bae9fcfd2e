import type { Listing } from '@betar/marketplace-crdt'
import { formatUnits } from 'viem'
import type { BetarNode } from '../../node.ts'
import { connectedPeers } from '../../peers.ts'
import { formatUsdc } from '../../usdc.ts'
import { GLOBAL_HELP, parseCommand, parsePositiveInt, parseUsdc } from '../args.ts'
import type { Command } from '../command.ts'
import { out, outJson, progress } from '../output.ts'
import { withNode } from '../session.ts'

const USAGE = 'betar discover <capability> [--bootstrap <ma>]... [--max-price <usdc>] [options]'
const HELP = `Usage: ${USAGE}

Starts an ephemeral node, dials the bootstrap peers and lists the sellers offering <capability>
(DHT providers + marketplace), cheapest first.

  --bootstrap <ma>      peer to dial first, repeatable
  --max-price <usdc>    only listings at most this price, e.g. 0.5
  --timeout <ms>        DHT search and dial timeout (default 5000)

${GLOBAL_HELP}`

/** What `betar discover` / `betar call` say when their node reached no peer: it could not search at all. */
export const CLI_NO_PEERS_HINT =
  'this node is connected to no peers, so it cannot find sellers: pass --bootstrap <multiaddr> ' +
  "(the address a running node prints, e.g. a seller's `betar start` output)"

/** Sellers of `capability` known to `node` (DHT search within `timeoutMs` + the local marketplace), cheapest first. */
export async function findListings(
  node: BetarNode,
  capability: string,
  timeoutMs: number,
  maxPrice?: bigint
): Promise<Listing[]> {
  const market = node.services.market
  const priceOpt = maxPrice != null ? { maxPrice } : {}
  let found: Listing[] = []
  try {
    // No connection: no one to ask, the search would only time out.
    if (connectedPeers(node) > 0) {
      found = await market.findSellers(capability, { ...priceOpt, signal: AbortSignal.timeout(timeoutMs) })
    }
  } catch (err) {
    progress(`DHT search stopped: ${err instanceof Error ? err.message : String(err)}`)
  }
  const byKey = new Map<string, Listing>()
  for (const l of [...found, ...market.find({ capability, ...priceOpt })]) {
    if (l.seller === node.peerId) continue
    const key = `${l.seller}/${l.id}`
    const seen = byKey.get(key)
    if (seen == null || seen.updatedAt < l.updatedAt) byKey.set(key, l)
  }
  return [...byKey.values()].sort((a, b) => (BigInt(a.price.amount) < BigInt(b.price.amount) ? -1 : 1))
}

/** `betar discover <capability>`. */
export const discoverCommand: Command = {
  name: 'discover',
  summary: 'list the sellers offering a capability',
  async run(argv) {
    const { values, positionals, globals, help } = parseCommand(
      argv,
      {
        bootstrap: { type: 'string', multiple: true },
        'max-price': { type: 'string' },
        timeout: { type: 'string' }
      },
      { min: 1, max: 1, usage: USAGE }
    )
    if (help) return out(HELP)
    const capability = positionals[0] ?? ''
    const maxPrice = values['max-price'] != null ? parseUsdc('--max-price', values['max-price']) : undefined
    const timeoutMs = values.timeout != null ? parsePositiveInt('--timeout', values.timeout) : 5000
    const { listings, peers } = await withNode(
      globals,
      { persistent: false, bootstrap: values.bootstrap ?? [], dialTimeoutMs: timeoutMs },
      async (node) => {
        const peers = connectedPeers(node)
        if (peers === 0) progress(CLI_NO_PEERS_HINT)
        else progress(`searching for "${capability}"…`)
        return { listings: await findListings(node, capability, timeoutMs, maxPrice), peers }
      }
    )
    if (globals.json) return outJson(listings.map((l) => ({ ...l, priceUsdc: formatUnits(BigInt(l.price.amount), 6) })))
    if (listings.length === 0) {
      return out(`No seller offers "${capability}"${peers === 0 ? `: ${CLI_NO_PEERS_HINT}` : ''}.`)
    }
    for (const l of listings) {
      out(`${l.name}  ${formatUsdc(BigInt(l.price.amount))}  [${l.capabilities.join(', ')}]`)
      out(`    seller   ${l.seller}`)
      out(`    payTo    ${l.price.payTo}`)
      if (l.erc8004 != null) out(`    agentId  ${l.erc8004.agentId} (${l.erc8004.agentRegistry})`)
      for (const ma of l.multiaddrs) out(`    at       ${ma}`)
      if (l.description !== '') out(`    ${l.description}`)
    }
  }
}
