import { mkdir } from 'node:fs/promises'
import { SyncRefusedError } from '@betar/marketplace-crdt'
import { type BetarNode, createBetarNode, DataDirInUseError } from '@betar/node'
import { multiaddr } from '@multiformats/multiaddr'
import type { GlobalFlags } from './args.ts'
import { CliError } from './errors.ts'
import { resolveNetwork } from './network.ts'
import { progress } from './output.ts'
import { loadWallet } from './wallet.ts'

/** Options of {@link withNode}. */
export interface NodeSessionOptions {
  /** Keep the libp2p identity and datastore in `<data-dir>/datastore` (one process at a time). Else in memory. */
  persistent: boolean
  listen?: string[]
  /** Peers to dial (each within `dialTimeoutMs`). */
  bootstrap?: string[]
  /** @default 10000 */
  dialTimeoutMs?: number
  /** Discover LAN peers with mDNS. @default false */
  mdns?: boolean
  /** Run the Go marketplace bridge (unverified legacy listings in, ours out in Go's format). @default false */
  legacy?: boolean
}

/**
 * Starts a Betar node for one command, dials its bootstrap peers (failing with a clear error when one is
 * unreachable), runs `fn` and always stops the node.
 */
export async function withNode<T>(
  flags: GlobalFlags,
  options: NodeSessionOptions,
  fn: (node: BetarNode) => Promise<T>
): Promise<T> {
  const { network, chain, rpcUrl } = await resolveNetwork(flags)
  const wallet = await loadWallet(flags)
  if (options.persistent) await mkdir(flags.dataDir, { recursive: true })
  progress('starting the node…')
  let node: BetarNode
  try {
    node = await createBetarNode({
      network,
      chain,
      rpcUrl,
      wallet,
      ...(options.persistent ? { dataDir: flags.dataDir } : {}),
      ...(options.listen != null ? { listen: options.listen } : {}),
      mdns: options.mdns === true,
      legacy: options.legacy === true
    })
  } catch (err) {
    if (err instanceof DataDirInUseError) {
      throw new CliError(`the data dir ${flags.dataDir} is in use by another betar process`)
    }
    throw err
  }
  try {
    await dialAll(node, options.bootstrap ?? [], options.dialTimeoutMs ?? 10_000)
    return await fn(node)
  } finally {
    await node.stop()
  }
}

async function dialAll(node: BetarNode, addresses: string[], timeoutMs: number): Promise<void> {
  for (const address of addresses) {
    let ma: ReturnType<typeof multiaddr>
    try {
      ma = multiaddr(address)
    } catch {
      throw new CliError(`--bootstrap: not a multiaddr: "${address}"`)
    }
    progress(`dialling ${address}…`)
    const deadline = Date.now() + timeoutMs
    let connection: Awaited<ReturnType<BetarNode['libp2p']['dial']>>
    try {
      connection = await node.libp2p.dial(ma, { signal: AbortSignal.timeout(timeoutMs) })
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      throw new CliError(`cannot reach peer ${address} within ${timeoutMs} ms: ${message}`)
    }
    // The peer is reached; its marketplace state is best effort: a peer that rate-limits our syncs (the same data dir,
    // hence the same peer id, for several commands in a row) is asked again once if that fits in the time left.
    for (let attempt = 0; ; attempt++) {
      try {
        await node.services.market.sync(connection.remotePeer, {
          signal: AbortSignal.timeout(Math.max(1, deadline - Date.now()))
        })
        break
      } catch (err) {
        const wait = err instanceof SyncRefusedError ? err.retryAfterMs : undefined
        if (attempt === 0 && wait != null && Date.now() + wait < deadline) {
          await new Promise((resolve) => setTimeout(resolve, wait))
          continue
        }
        const message = err instanceof Error ? err.message : String(err)
        progress(`could not sync the marketplace with ${address} (${message}); going on with what this node knows`)
        break
      }
    }
  }
}
