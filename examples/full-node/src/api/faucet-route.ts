import { fundAccount } from '@betar/devnet'
import type { BetarNode } from '@betar/node'
import type { Hono } from 'hono'
import { formatEther, getAddress } from 'viem'
import { ApiError } from './errors.ts'
import { sendJson } from './json.ts'
import { usdcString } from './price.ts'
import { FaucetBodySchema, jsonBody } from './schemas.ts'

/**
 * Registers `POST /faucet` — devnet only: mints USDC (default 100) and adds ETH (default 1) to `address` (default: this
 * node's wallet). On any other network it answers 403 `FaucetUnavailable` before reading the body.
 */
export function registerFaucetRoute(app: Hono, node: BetarNode): void {
  app.post('/faucet', async (c) => {
    // The network the node was started on (`--network devnet`); fundAccount also refuses an RPC that is not anvil.
    if (node.network.name !== 'devnet') {
      throw new ApiError(
        403,
        'FaucetUnavailable',
        `the faucet exists only on the devnet; this node runs on ${node.network.name}: fund the wallet with real USDC`
      )
    }
    const body = await jsonBody(c, FaucetBodySchema)
    const result = await fundAccount({
      rpcUrl: node.network.rpcUrl,
      usdc: node.network.usdc.address,
      address: body.address != null ? getAddress(body.address) : node.wallet.address,
      ...(body.usdc != null ? { usdcAtomic: body.usdc } : {}),
      ...(body.eth != null ? { wei: body.eth } : {})
    })
    return sendJson(c, {
      address: result.address,
      usdc: {
        added: usdcString(result.usdc.added),
        balance: usdcString(result.usdc.balance),
        addedAtomic: result.usdc.added.toString(),
        balanceAtomic: result.usdc.balance.toString(),
        transaction: result.usdc.transaction
      },
      eth: {
        added: formatEther(result.eth.added),
        balance: formatEther(result.eth.balance),
        addedWei: result.eth.added.toString(),
        balanceWei: result.eth.balance.toString()
      }
    })
  })
}
