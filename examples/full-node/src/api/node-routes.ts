import { readAgent } from '@betar/identity'
import { type BetarNode, formatUsdc } from '@betar/node'
import type { Hono } from 'hono'
import { sendJson } from './json.ts'
import { usdcString } from './price.ts'
import { AgentIdSchema, validate } from './schemas.ts'

/** Local agents this node sells, by name (registration / listing info as the app wants to show it). */
export type LocalAgents = ReadonlyMap<string, unknown>

/** Registers the node routes: `/health`, `/status`, `/peers`, `/agents`, `/wallet`, `/reputation/:agentId`. */
export function registerNodeRoutes(app: Hono, node: BetarNode, agents: LocalAgents): void {
  app.get('/health', (c) => sendJson(c, { ok: true }))

  app.get('/status', (c) =>
    sendJson(c, {
      peerId: node.peerId,
      multiaddrs: node.multiaddrs().map(String),
      network: {
        name: node.network.name,
        chainId: node.network.chainId,
        caip2: node.network.caip2,
        usdc: node.network.usdc.address
      },
      wallet: node.wallet.address
    })
  )

  app.get('/peers', (c) =>
    sendJson(c, {
      peers: node.libp2p.getPeers().map((peer) => ({
        peerId: peer.toString(),
        connections: node.libp2p.getConnections(peer).map((conn) => ({
          remoteAddr: conn.remoteAddr.toString(),
          direction: conn.direction,
          status: conn.status
        }))
      }))
    })
  )

  app.get('/agents', (c) => sendJson(c, { agents: [...agents].map(([name, info]) => ({ name, info })) }))

  app.get('/wallet', async (c) => {
    const balance = await node.usdcBalance()
    const { address, decimals } = node.network.usdc
    return sendJson(c, {
      address: node.wallet.address,
      usdc: {
        asset: address,
        decimals,
        balance: balance.toString(),
        balanceUsdc: usdcString(balance),
        formatted: formatUsdc(balance, decimals)
      }
    })
  })

  app.get('/reputation/:agentId', async (c) => {
    const agentId = validate(AgentIdSchema, c.req.param('agentId'))
    // An unknown id is a 404 (`AgentNotFound`), whatever the scorer does with it.
    await readAgent({
      publicClient: node.clients.publicClient,
      identityRegistry: node.network.erc8004.identityRegistry,
      agentId
    })
    const summary = await node.reputation.summary(agentId)
    return sendJson(c, { agentId: agentId.toString(), summary })
  })
}
