import { formatUsdc, readFeedbackJob } from '@betar/node/utils'
import { type CallJournalState, datastoreCallJournal } from '@betar/x402-libp2p'
import { callView } from '../../api/calls.ts'
import { GLOBAL_HELP, parseCommand, parsePositiveInt } from '../args.ts'
import type { Command } from '../command.ts'
import { openDataDirForCommand } from '../data-dir.ts'
import { CliError } from '../errors.ts'
import { out, outJson } from '../output.ts'

const STATES = ['prepared', 'sent', 'done', 'refunded', 'failed'] as const
const USAGE = 'betar calls [<correlation-id>] [--state <state>] [--limit <n>] [options]'
const HELP = `Usage: ${USAGE}

Lists the calls this node made as a buyer, newest first, from the journal in <data-dir> (it survives restarts):
state (done, refunded, failed, or sent: paid with no outcome yet — finish it with betar call --resume <id>),
price, seller and settlement. With a correlation id, shows that call with its output.

  --state <state>   only calls in this state (${STATES.join(', ')})
  --limit <n>       at most n calls (default 20)

While \`betar start\` holds <data-dir>, use its REST API instead (GET /calls).

${GLOBAL_HELP}`

/** `betar calls`: the buyer's call history. */
export const callsCommand: Command = {
  name: 'calls',
  summary: "list this node's calls as a buyer (or show one)",
  async run(argv) {
    const { values, positionals, globals, help } = parseCommand(
      argv,
      { state: { type: 'string' }, limit: { type: 'string' } },
      { min: 0, max: 1, usage: USAGE }
    )
    if (help) return out(HELP)
    const state = values.state as CallJournalState | undefined
    if (state != null && !(STATES as readonly string[]).includes(state)) {
      throw new CliError(`--state must be one of ${STATES.join(', ')}, got "${state}"`)
    }
    const limit = values.limit != null ? parsePositiveInt('--limit', values.limit) : 20
    const datastore = await openDataDirForCommand(globals.dataDir, 'GET /calls')
    try {
      const journal = datastoreCallJournal(datastore)
      const feedback = { get: (id: string) => readFeedbackJob(datastore, id) }
      const [id] = positionals
      if (id != null) {
        const entry = await journal.get(id)
        if (entry == null) throw new CliError(`no call ${id} in the journal of ${globals.dataDir}`)
        const view = callView(entry, await feedback.get(id))
        if (globals.json) return outJson(view)
        out(JSON.stringify(view, null, 2))
        return
      }
      const entries = await journal.list({ limit, ...(state != null ? { states: [state] } : {}) })
      const views = await Promise.all(entries.map(async (e) => callView(e, await feedback.get(e.correlationId))))
      if (globals.json) return outJson({ calls: views })
      if (views.length === 0) return out('No calls.')
      for (const v of views) {
        const price = v.amount != null ? formatUsdc(BigInt(v.amount)) : '?'
        const when = new Date(v.createdAt).toISOString()
        out(
          `${when}  ${v.state.padEnd(8)}  ${price.padStart(12)}  ${v.capability ?? v.listing?.resource ?? '?'}  ${v.correlationId}`
        )
      }
    } finally {
      await datastore.close()
    }
  }
}
