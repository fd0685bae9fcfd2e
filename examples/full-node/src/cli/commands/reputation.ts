import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { DataDirInUseError, formatUsdc } from '@betar/node/utils'
import { createReputation, type ReputationReport, type ScoredFeedback, type TagSummary } from '@betar/reputation'
import { MemoryDatastore } from 'datastore-core'
import type { LevelDatastore } from 'datastore-level'
import type { Datastore } from 'interface-datastore'
import { createPublicClient, http } from 'viem'
import { GLOBAL_HELP, parseCommand, parsePositiveInt } from '../args.ts'
import type { Command } from '../command.ts'
import { openDataDirDatastore } from '../data-dir.ts'
import { CliError } from '../errors.ts'
import { lazyFeedbackFetcher } from '../feedback-fetcher.ts'
import { resolveNetwork } from '../network.ts'
import { out, outJson, progress } from '../output.ts'

const USAGE = 'betar reputation <agentId> [--bootstrap <ma>]... [options]'
const HELP = `Usage: ${USAGE}

Indexes the ERC-8004 Reputation Registry and scores the agent: only feedback backed by a verified USDC payment
counts. The index and every proof verified once (feedback files, payment receipts) are kept in <data-dir>/datastore
(in memory when the data dir does not exist or a running \`betar start\` holds it), so a later run reads only new
events. Feedback files in data: URIs are read from the chain; only an ipfs:// file not verified before starts a
node that fetches it over bitswap. One that cannot be fetched within --load-timeout is listed as "unverified" and
left out of the score (neither counted nor weighed); the summary reports how many there are.

  --bootstrap <ma>        peer holding ipfs:// feedback files, dialled only when such a file must be fetched
                          (repeatable)
  --load-timeout <ms>     per feedback file (default 3000)

${GLOBAL_HELP}`

/** Per bootstrap dial (ms). */
const DIAL_TIMEOUT_MS = 5_000
/** Starting the fetching node (ms), on top of the dial and per-file budgets. */
const NODE_START_BUDGET_MS = 10_000

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
    const resolved = await resolveNetwork(globals)
    const { network } = resolved
    const index = await openIndex(globals.dataDir)
    const fetcher = lazyFeedbackFetcher({
      ...resolved,
      bootstrap: values.bootstrap ?? [],
      dialTimeoutMs: DIAL_TIMEOUT_MS,
      fileTimeoutMs: loadTimeout
    })
    let report: ReputationReport
    try {
      const reputation = createReputation({
        publicClient: createPublicClient({ chain: resolved.chain, transport: http(resolved.rpcUrl) }),
        identityRegistry: network.erc8004.identityRegistry,
        reputationRegistry: network.erc8004.reputationRegistry,
        asset: network.usdc.address,
        assetDecimals: network.usdc.decimals,
        datastore: index.datastore,
        load: fetcher.load,
        // The fetcher bounds each file by --load-timeout once its node is up; this also covers starting it.
        loadTimeoutMs: loadTimeout + DIAL_TIMEOUT_MS + NODE_START_BUDGET_MS
      })
      progress(`indexing feedback for agent ${agentId} (${index.where})…`)
      report = await reputation.report(agentId)
    } catch (err) {
      const message = err instanceof Error ? err.message.split('\n')[0] : String(err)
      if (/nonexistent|ERC721|revert/i.test(message ?? '')) throw new CliError(`agent ${agentId} is not registered`)
      throw err
    } finally {
      await fetcher.stop()
      await index.close()
    }
    const { summary, feedback } = report
    if (globals.json) return outJson({ agentId, summary, feedback: feedback.map(brief) })
    out(`Agent ${agentId}`)
    const tags = Object.entries(summary)
    if (tags.length === 0) out('  no feedback yet')
    for (const [tag, s] of tags) out(`  ${tag}: ${describe(s)}`)
    for (const f of feedback) {
      const b = brief(f)
      const verdict =
        f.status === 'counted'
          ? `counted (paid ${formatUsdc(f.paid)})`
          : f.status === 'unverified'
            ? 'unverified: its file could not be fetched (not in the score)'
            : `not counted: ${b.reason}`
      out(`  - ${b.client} ${b.tag} ${b.value} ${verdict}`)
    }
  }
}

/** The reputation index: `<dataDir>/datastore` when the data dir exists and is free, else memory. */
async function openIndex(dataDir: string): Promise<{ datastore: Datastore; where: string; close(): Promise<void> }> {
  const memory = (why: string) => ({
    datastore: new MemoryDatastore(),
    where: `in memory: ${why}`,
    close: async () => {}
  })
  try {
    await access(dataDir)
  } catch {
    return memory(`no data dir ${dataDir}`)
  }
  let level: LevelDatastore
  try {
    level = await openDataDirDatastore(dataDir)
  } catch (err) {
    if (err instanceof DataDirInUseError)
      return memory(`${dataDir} is held by a running betar node (its REST API: GET /reputation/{agentId})`)
    throw err
  }
  const path = join(dataDir, 'datastore')
  return { datastore: level, where: path, close: () => level.close() }
}

function describe(s: TagSummary): string {
  const score = s.score == null ? 'no score' : `score ${s.score.toFixed(1)}`
  const unverified = s.unverified > 0 ? `, ${s.unverified} unverified (not in the score)` : ''
  return `${score} from ${s.count} paying client(s), ${formatUsdc(s.paidVolume)} paid, confidence ${s.confidence.toFixed(2)}${unverified}`
}

function brief(f: ScoredFeedback) {
  return {
    client: f.clientAddress,
    tag: f.tag1,
    value: Number(f.value) / 10 ** f.valueDecimals,
    counted: f.counted,
    status: f.status,
    reason: f.reason ?? null,
    paid: f.paid,
    feedbackURI: f.feedbackURI
  }
}
