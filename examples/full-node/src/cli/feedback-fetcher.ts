import type { BetarNode } from '@betar/node'
import type { LoadUri } from '@betar/reputation'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import type { ResolvedNetwork } from './network.ts'
import { progress } from './output.ts'

/** Options of {@link lazyFeedbackFetcher}. */
export interface FeedbackFetcherOptions extends ResolvedNetwork {
  /** Peers dialled once the node starts (e.g. the buyers holding `ipfs://` feedback files). */
  bootstrap: readonly string[]
  /** Per dial (ms). */
  dialTimeoutMs: number
  /** Per file once the node is up (ms): starting the node and dialling do not count against it. */
  fileTimeoutMs: number
}

/** A {@link LoadUri} that only starts a node when it is first asked for a file; `stop` stops it if it ran. */
export interface FeedbackFetcher {
  load: LoadUri
  /** Whether a node was started (some file was neither a `data:` URI nor in the proof cache). */
  started(): boolean
  stop(): Promise<void>
}

/**
 * Fetches `ipfs://` feedback files over bitswap through an in-memory Betar node (throwaway libp2p key and wallet) that
 * starts on the first load and dials `bootstrap`. Scoring from `data:` URIs and cached proofs never starts it, which
 * keeps `betar reputation` off the network. A peer that cannot be dialled is reported on stderr, not thrown: its files
 * then fail to load and count as unverified. `load` rejects on the caller's abort or when the file cannot be fetched.
 */
export function lazyFeedbackFetcher(options: FeedbackFetcherOptions): FeedbackFetcher {
  let starting: Promise<BetarNode> | undefined
  const start = () => {
    starting ??= (async () => {
      progress('fetching feedback files over bitswap…')
      // Imported here: libp2p and Helia take seconds to load, and most runs never need them.
      const [{ createBetarNode }, { multiaddr }] = await Promise.all([
        import('@betar/node'),
        import('@multiformats/multiaddr')
      ])
      const node = await createBetarNode({
        network: options.network,
        chain: options.chain,
        rpcUrl: options.rpcUrl,
        wallet: privateKeyToAccount(generatePrivateKey()),
        feedbackRetryIntervalMs: 0,
        healthCheckIntervalMs: 0
      })
      await Promise.all(
        options.bootstrap.map(async (address) => {
          try {
            await node.libp2p.dial(multiaddr(address), { signal: AbortSignal.timeout(options.dialTimeoutMs) })
          } catch (err) {
            progress(`cannot reach ${address}: ${err instanceof Error ? err.message : String(err)}`)
          }
        })
      )
      return node
    })()
    return starting
  }
  return {
    async load(uri, opts = {}) {
      const node = await abortable(start(), opts.signal)
      const timeout = AbortSignal.timeout(options.fileTimeoutMs)
      return node.feedbackStorage.load(uri, {
        signal: opts.signal != null ? AbortSignal.any([opts.signal, timeout]) : timeout
      })
    },
    started: () => starting != null,
    async stop() {
      if (starting == null) return
      const node = await starting.catch(() => undefined)
      await node?.stop()
    }
  }
}

/** `promise`, or a rejection with the signal's reason once `signal` aborts (the promise itself goes on). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal == null) return promise
  signal.throwIfAborted()
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
