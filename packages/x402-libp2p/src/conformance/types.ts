import type { AbortOptions, Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Address, LocalAccount, PublicClient } from 'viem'
import type { PaymentAsset } from '../requirements.ts'

/** The implementation under test: where it listens and what it serves. */
export interface ConformanceTarget {
  /** Multiaddr(s) or peer id of the implementation under test. */
  peer: PeerId | Multiaddr | Multiaddr[]
  /** Protocol id to dial. @default '/x402/libp2p/2.0.0' (set it when the server uses a `protocolPrefix`) */
  protocol?: string
  /** Session protocol id to dial (spec §2.1). @default '/x402/libp2p/2.1.0' */
  sessionProtocol?: string
  /** A paid resource: name and what it costs (atomic units), the payee and asset the server uses. */
  paid: { resource: string; amount: bigint; payTo: Address; asset: PaymentAsset }
  /** A free resource, if the server has one. */
  free?: { resource: string }
  /** A paid resource whose handler always fails (to observe EXECUTION_FAILED), optional. */
  failing?: { resource: string }
  /** Server limits to probe (defaults from the spec: maxMessageSize 1 MiB + 64 KiB, frame timeout 10 s). */
  limits?: { maxMessageSize?: number; frameTimeoutMs?: number }
}

/**
 * Fault hooks the operator of the implementation under test can wire in (spec §7.3, §8), so the suite can check how it
 * behaves when its chain misbehaves. Each returns a function that undoes the fault. Cases that need a hook skip
 * without it.
 */
export interface ConformanceFaults {
  /**
   * Makes the target unable to reach its chain (or facilitator) for its **next payment verification** — e.g. an RPC
   * proxy that refuses requests — and resolves once that is in place.
   */
  interruptVerification?(): Promise<() => Promise<void>>
  /** Stops block production on the target's chain (e.g. anvil `evm_setAutomine(false)`); undo resumes it. */
  holdBlocks?(): Promise<() => Promise<void>>
}

/** How to run the suite. */
export interface ConformanceOptions extends AbortOptions {
  /** The dialing node (any libp2p node with a connection manager). */
  node: Libp2p
  /** Funded payer (viem LocalAccount): it pays `paid.amount` for every happy paid case. */
  payer: LocalAccount
  /** An account with NO token balance (for INSUFFICIENT_FUNDS). */
  poorPayer?: LocalAccount
  /**
   * Reads the chain of `paid.asset`. When given, every settled case also checks the settlement transaction's receipt
   * holds the token `Transfer(payer, payTo, amount)` and that the payee's balance moved by exactly that much (and not
   * at all on a re-ask or a rejection).
   */
  publicClient?: PublicClient
  /** Fault hooks into the target's infrastructure; the `recovery.*` cases skip without them. */
  faults?: ConformanceFaults
  /** Only run cases whose id matches. */
  filter?: RegExp
  /** Per-case timeout, default 30 s. */
  caseTimeoutMs?: number
}

/** Identity of a case: what it checks and where the spec requires it. */
export interface ConformanceCaseInfo {
  /** Stable id, e.g. `error.nonce-used.replay`. */
  id: string
  /** One line: the scenario and the expected outcome. */
  title: string
  /** Section(s) of `docs/spec/x402-libp2p.md`, e.g. `§5 step 8b`. */
  specRef: string
}

/** The outcome of one case. */
export interface ConformanceCaseResult extends ConformanceCaseInfo {
  /** True when the implementation behaved as the spec requires (false when skipped). */
  passed: boolean
  /** Why the case did not run (missing optional target or option). */
  skipped?: string
  /** What went wrong, when it failed. */
  error?: string
  durationMs: number
}

/** The outcome of a run: counts and one result per selected case, in run order. */
export interface ConformanceReport {
  passed: number
  failed: number
  skipped: number
  results: ConformanceCaseResult[]
}
