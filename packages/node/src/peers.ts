import type { BetarNode } from './node.ts'

/** What a node with no connection must be told: it cannot find sellers, and how to reach peers. */
export const NO_PEERS_HINT =
  'this node is connected to no peers, so it cannot find sellers: start it with --bootstrap <multiaddr> ' +
  "(the address a running node prints, e.g. a seller's `betar start` output) or with --mdns (peers on the local network)"

/** The number of peers `node` has an open connection to. */
export function connectedPeers(node: BetarNode): number {
  return node.libp2p.getPeers().length
}
