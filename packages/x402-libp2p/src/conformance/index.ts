/**
 * @packageDocumentation
 *
 * A protocol conformance suite for `/x402/libp2p/2.0.0` (`docs/spec/x402-libp2p.md`). Point it at any
 * implementation — a libp2p peer serving a paid resource on a chain you can pay on — and it runs the spec's normative
 * cases over raw streams (not through `x402Client`), so it can send malformed, replayed, tampered and out-of-order
 * frames: the happy flows (free, two-trip, two-trip on a new stream, one-trip, re-ask), every §8 error it can provoke
 * with a real scenario, robustness against silent and stalling peers, and — when the operator wires fault hooks into
 * the target's chain (`options.faults`) — recovery: infrastructure failures are retryable and keep the challenge, and a
 * re-ask after a pending settlement returns the result. Each case reports pass, fail (with what the server did
 * instead) or skip.
 *
 * @example
 * ```ts
 * import { CONFORMANCE_CASES, runConformance } from '@betar/x402-libp2p/conformance'
 *
 * const report = await runConformance(
 *   {
 *     peer: seller.getMultiaddrs(),
 *     paid: { resource: 'echo', amount: 10_000n, payTo: sellerWallet, asset: usdc },
 *     free: { resource: 'free' },
 *     failing: { resource: 'boom' }
 *   },
 *   { node: dialer, payer, poorPayer, publicClient }
 * )
 * console.log(`${report.passed}/${CONFORMANCE_CASES.length} passed, ${report.failed} failed`)
 * ```
 */

// First: installs the Node 20 shims (see node20.ts) before anything else runs.
import '../node20.ts'

export { CONFORMANCE_CASES, runConformance } from './runner.ts'
export type {
  ConformanceCaseInfo,
  ConformanceCaseResult,
  ConformanceFaults,
  ConformanceOptions,
  ConformanceReport,
  ConformanceTarget
} from './types.ts'
