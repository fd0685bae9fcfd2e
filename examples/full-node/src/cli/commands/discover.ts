import type { Listing } from '@betar/marketplace-crdt'
import type { LegacyListing } from '@betar/marketplace-crdt/legacy'
import { type BetarNode, connectedPeers, formatUsdc } from '@betar/node'
import { formatUnits } from 'viem'
import { GLOBAL_HELP, parseCommand, parsePositiveInt, parseUsdc } from '../args.ts'
import type { Command } from '../command.ts'
import { out, outJson, progress } from '../output.ts'
import { withNode } from '../session.ts'

const USAGE = 'betar discover <capability> [--bootstrap <ma>]... [--max-price <usdc>] [--legacy] [options]'
const HELP = `Usage: ${USAGE}

Starts an ephemeral node, dials the bootstrap peers and lists the sellers offering <capability>
(DHT providers + marketplace), cheapest first.

  --bootstrap <ma>      peer to dial first, repeatable
  --max-price <usdc>    only listings at most this price, e.g. 0.5
  --timeout <ms>        DHT search and dial timeout (default 5000)
  --legacy              also list Go Betar nodes' listings (pulled from the bootstrap peers), after the signed
                        ones and marked [legacy, unverified]: Go listings are not signed and have no capabilities

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

/**
 * Go listings from the peers this node reached: each is asked for its listings (Go's `info`) now — a peer that does
 * not speak Go's protocol just refuses the stream. Go listings have no capabilities, so they are not filtered by one.
 */
async function legacyListings(node: BetarNode, timeoutMs: number, maxPrice?: bigint): Promise<LegacyListing[]> {
  const bridge = node.services.legacy
  if (bridge == null) return []
  await Promise.allSettled(
    node.libp2p.getPeers().map((peer) => bridge.pull(peer, { signal: AbortSignal.timeout(timeoutMs) }))
  )
  return bridge.list(maxPrice != null ? { maxPrice } : {})
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
        timeout: { type: 'string' },
        legacy: { type: 'boolean', default: false }
      },
      { min: 1, max: 1, usage: USAGE }
    )
    if (help) return out(HELP)
    const capability = positionals[0] ?? ''
    const maxPrice = values['max-price'] != null ? parseUsdc('--max-price', values['max-price']) : undefined
    const timeoutMs = values.timeout != null ? parsePositiveInt('--timeout', values.timeout) : 5000
    const withLegacy = values.legacy === true
    const { listings, legacy, peers } = await withNode(
      globals,
      { persistent: false, bootstrap: values.bootstrap ?? [], dialTimeoutMs: timeoutMs, legacy: withLegacy },
      async (node) => {
        const peers = connectedPeers(node)
        if (peers === 0) progress(CLI_NO_PEERS_HINT)
        else progress(`searching for "${capability}"…`)
        const listings = await findListings(node, capability, timeoutMs, maxPrice)
        return { listings, legacy: withLegacy ? await legacyListings(node, timeoutMs, maxPrice) : [], peers }
      }
    )
    const signed = listings.map((l) => ({ ...l, priceUsdc: formatUnits(BigInt(l.price.amount), 6) }))
    if (globals.json) {
      // Go listings stay apart from signed ones: their own array, each `legacy: true`, `verified: false`.
      if (!withLegacy) return outJson(signed)
      return outJson({
        listings: signed,
        legacy: legacy.map((l) => ({ ...l, priceUsdc: formatUnits(l.priceAtomic, 6) }))
      })
    }
    if (listings.length === 0 && legacy.length === 0) {
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
    for (const l of legacy) {
      out(`${l.name}  ${formatUsdc(l.priceAtomic)}  [legacy, unverified]`)
      out(`    seller   ${l.seller}`)
      out(`    agent    ${l.agentId}`)
      for (const ma of l.multiaddrs) out(`    at       ${ma}`)
    }
  }
}
