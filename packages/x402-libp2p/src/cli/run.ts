// The conformance run itself: loaded by main.ts only once the arguments are valid, so a usage error or --help answers
// without loading libp2p, viem's clients and the conformance cases.
import { createPublicClient, http } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { runConformance } from '../conformance/index.ts'
import type { ConformanceReport, ConformanceTarget } from '../conformance/types.ts'
import type { CliOptions } from './args.ts'
import { DiscoveryError, discoverPaid } from './discover.ts'
import { createDialer } from './node.ts'

/** A report of one failed pseudo-case, when the target cannot even be probed. */
function discoveryFailure(message: string, durationMs: number): ConformanceReport {
  return {
    passed: 0,
    failed: 1,
    skipped: 0,
    results: [
      {
        id: 'discovery',
        title: 'the target offers the paid resource',
        specRef: '§4.2',
        passed: false,
        error: message,
        durationMs
      }
    ]
  }
}

export async function run(
  opts: CliOptions & { rpc: string; payerKey: NonNullable<CliOptions['payerKey']> },
  signal: AbortSignal
): Promise<ConformanceReport> {
  const publicClient = createPublicClient({ transport: http(opts.rpc) })
  const node = await createDialer(opts.target)
  const start = performance.now()
  try {
    let chainId: number
    try {
      chainId = await publicClient.getChainId()
    } catch (err) {
      throw new DiscoveryError(`cannot read the chain id from ${opts.rpc}: ${(err as Error).message}`)
    }
    const paid = await discoverPaid({
      node,
      peer: opts.target,
      resource: opts.resource,
      chainId,
      signal,
      ...(opts.protocol != null ? { protocol: opts.protocol } : {}),
      ...(opts.amount != null ? { amount: opts.amount } : {}),
      ...(opts.payTo != null ? { payTo: opts.payTo } : {}),
      ...(opts.asset != null ? { asset: opts.asset } : {})
    })
    const target: ConformanceTarget = { peer: opts.target, paid }
    if (opts.protocol != null) target.protocol = opts.protocol
    if (opts.free != null) target.free = { resource: opts.free }
    if (opts.failing != null) target.failing = { resource: opts.failing }
    if (opts.frameTimeoutMs != null) target.limits = { frameTimeoutMs: opts.frameTimeoutMs }
    return await runConformance(target, {
      node,
      payer: privateKeyToAccount(opts.payerKey),
      poorPayer: privateKeyToAccount(generatePrivateKey()),
      publicClient,
      signal,
      ...(opts.filter != null ? { filter: opts.filter } : {}),
      ...(opts.caseTimeoutMs != null ? { caseTimeoutMs: opts.caseTimeoutMs } : {})
    })
  } catch (err) {
    if (err instanceof DiscoveryError) return discoveryFailure(err.message, Math.round(performance.now() - start))
    throw err
  } finally {
    await node.stop()
  }
}
