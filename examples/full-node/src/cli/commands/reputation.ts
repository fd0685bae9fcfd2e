import { createReputation, type ScoredFeedback, type TagSummary } from '@betar/reputation'
import { MemoryDatastore } from 'datastore-core'
import { formatUsdc } from '../../usdc.ts'
import { GLOBAL_HELP, parseCommand, parsePositiveInt } from '../args.ts'
import type { Command } from '../command.ts'
import { CliError } from '../errors.ts'
import { out, outJson, progress } from '../output.ts'
import { withNode } from '../session.ts'

const USAGE = 'betar reputation <agentId> [--bootstrap <ma>]... [options]'
const HELP = `Usage: ${USAGE}

Indexes the ERC-8004 Reputation Registry and scores the agent: only feedback backed by a verified USDC payment
counts. Feedback files are fetched over bitswap from the connected peers; one that cannot be fetched within
--load-timeout is listed as "unloadable" and not counted.

  --bootstrap <ma>        peer to dial first (e.g. the node holding the feedback files), repeatable
  --load-timeout <ms>     per feedback file (default 3000)

${GLOBAL_HELP}`

/** `betar reputation <agentId>`. */
export const reputationCommand: Command = {
  name: 'reputation',
  summary: "an agent's payment-backed ERC-8004 reputation",
  async run(argv) {
    const { values, positionals, globals, help } = parseCommand(
      argv,
      { bootstrap: { type: 'string', multiple: true }, 'load-timeout': { type: 'string' } },
      { min: 1, max: 1, usage: USAGE }
    )
    if (help) return out(HELP)
    const raw = positionals[0] ?? ''
    if (!/^\d+$/.test(raw)) throw new CliError(`<agentId> must be a non-negative integer, got "${raw}"`)
    const agentId = BigInt(raw)
    const loadTimeout =
      values['load-timeout'] != null ? parsePositiveInt('--load-timeout', values['load-timeout']) : 3000
    const { summary, feedback } = await withNode(
      globals,
      { persistent: false, bootstrap: values.bootstrap ?? [] },
      async (node) => {
        const loaded = new Map<string, Promise<Uint8Array>>()
        const reputation = createReputation({
          publicClient: node.clients.publicClient,
          identityRegistry: node.network.erc8004.identityRegistry,
          reputationRegistry: node.network.erc8004.reputationRegistry,
          asset: node.network.usdc.address,
          assetDecimals: node.network.usdc.decimals,
          datastore: new MemoryDatastore(),
          // Memoised: `feedback` and `summary` read the same files; a missing one costs one timeout, not two.
          load: (uri, options) => {
            let bytes = loaded.get(uri)
            if (bytes == null) {
              const timeout = AbortSignal.timeout(loadTimeout)
              const signal = options?.signal != null ? AbortSignal.any([options.signal, timeout]) : timeout
              bytes = node.feedbackStorage.load(uri, { signal })
              loaded.set(uri, bytes)
            }
            return bytes
          }
        })
        progress(`indexing feedback for agent ${agentId}…`)
        try {
          const feedback = await reputation.feedback(agentId)
          const summary = await reputation.summary(agentId, { skipSync: true })
          return { summary, feedback }
        } catch (err) {
          const message = err instanceof Error ? err.message.split('\n')[0] : String(err)
          if (/nonexistent|ERC721|revert/i.test(message ?? '')) throw new CliError(`agent ${agentId} is not registered`)
          throw err
        }
      }
    )
    if (globals.json) return outJson({ agentId, summary, feedback: feedback.map(brief) })
    out(`Agent ${agentId}`)
    const tags = Object.entries(summary)
    if (tags.length === 0) out('  no feedback yet')
    for (const [tag, s] of tags) out(`  ${tag}: ${describe(s)}`)
    for (const f of feedback) {
      const b = brief(f)
      out(
        `  - ${b.client} ${b.tag} ${b.value} ${b.counted ? `counted (paid ${formatUsdc(f.paid)})` : `not counted: ${b.reason}`}`
      )
    }
  }
}

function describe(s: TagSummary): string {
  const score = s.score == null ? 'no score' : `score ${s.score.toFixed(1)}`
  return `${score} from ${s.count} paying client(s), ${formatUsdc(s.paidVolume)} paid, confidence ${s.confidence.toFixed(2)}`
}

function brief(f: ScoredFeedback) {
  return {
    client: f.clientAddress,
    tag: f.tag1,
    value: Number(f.value) / 10 ** f.valueDecimals,
    counted: f.counted,
    reason: f.reason ?? null,
    paid: f.paid,
    feedbackURI: f.feedbackURI
  }
}
