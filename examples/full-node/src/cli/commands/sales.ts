import { formatUsdc, type SaleRecord, SalesLedger } from '@betar/node/utils'
import { GLOBAL_HELP, parseCommand, parsePositiveInt } from '../args.ts'
import type { Command } from '../command.ts'
import { openDataDirForCommand } from '../data-dir.ts'
import { CliError } from '../errors.ts'
import { out, outJson } from '../output.ts'

const OUTCOMES = ['sold', 'refunded', 'failed'] as const
const USAGE = 'betar sales [--agent <name>] [--outcome <outcome>] [--since <time>] [--limit <n>] [options]'
const HELP = `Usage: ${USAGE}

Lists what this node sold as a seller, newest first, from <data-dir> (it survives restarts): each paid call's outcome
(sold; refunded: the task failed and the payment went back; failed: nothing was charged), agent, price, buyer,
settlement transaction and duration, then the earnings per agent over the same period.

  --agent <name>       only this agent
  --outcome <outcome>  only ${OUTCOMES.join(', ')}
  --since <time>       from this time on: an ISO date (2026-12-01, 2026-12-01T10:00Z) or a duration ago (30m, 24h, 7d)
  --limit <n>          at most n sales listed (default 20; earnings count every sale of the period)

While \`betar start\` holds <data-dir>, use its REST API instead (GET /sales).

${GLOBAL_HELP}`

/** `betar sales`: the seller's sales log and earnings. */
export const salesCommand: Command = {
  name: 'sales',
  summary: "list this node's sales as a seller and its earnings per agent",
  async run(argv) {
    const { values, globals, help } = parseCommand(
      argv,
      {
        agent: { type: 'string' },
        outcome: { type: 'string' },
        since: { type: 'string' },
        limit: { type: 'string' }
      },
      { min: 0, max: 0, usage: USAGE }
    )
    if (help) return out(HELP)
    const outcome = values.outcome as SaleRecord['outcome'] | undefined
    if (outcome != null && !(OUTCOMES as readonly string[]).includes(outcome)) {
      throw new CliError(`--outcome must be one of ${OUTCOMES.join(', ')}, got "${outcome}"`)
    }
    const since = values.since != null ? parseSince(values.since) : undefined
    const limit = values.limit != null ? parsePositiveInt('--limit', values.limit) : 20
    const datastore = await openDataDirForCommand(globals.dataDir, 'GET /sales')
    try {
      const ledger = new SalesLedger(datastore)
      const query = {
        ...(values.agent != null ? { agent: values.agent } : {}),
        ...(since != null ? { since } : {})
      }
      const sales = await ledger.list({ ...query, ...(outcome != null ? { outcome } : {}), limit })
      const earnings = await ledger.earnings(query)
      if (globals.json) return outJson({ sales, earnings })
      if (sales.length === 0) out('No sales.')
      for (const s of sales) out(saleLine(s))
      if (earnings.length > 0) {
        out('')
        out('Earnings per agent:')
        for (const e of earnings) {
          out(
            `  ${e.agent}: ${formatUsdc(BigInt(e.earned))} from ${e.sold} sale(s); ${e.refunded} refunded, ${e.failed} failed`
          )
        }
      }
    } finally {
      await datastore.close()
    }
  }
}

/** One sale as a log line: time, outcome, agent, price, buyer, transaction, duration. */
export function saleLine(s: SaleRecord): string {
  const parts = [
    new Date(s.at).toISOString(),
    s.outcome.padEnd(8),
    s.agent,
    formatUsdc(BigInt(s.amount)),
    `buyer ${s.buyer}`
  ]
  if (s.transaction != null) parts.push(`tx ${s.transaction}`)
  if (s.refundTransaction != null) parts.push(`refund tx ${s.refundTransaction}`)
  if (s.durationMs != null) parts.push(`${s.durationMs} ms`)
  if (s.reason != null && s.outcome !== 'sold') parts.push(`(${s.reason})`)
  return parts.join('  ')
}

/** `--since`: an ISO date/time, or a duration ago (`30m`, `24h`, `7d`). Unix ms. */
function parseSince(value: string): number {
  const ago = /^(\d+)([smhd])$/.exec(value)
  if (ago != null) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[ago[2] as 's' | 'm' | 'h' | 'd']
    return Date.now() - Number(ago[1]) * unit
  }
  const at = Date.parse(value)
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && Number.isFinite(at)) return at
  throw new CliError(`--since must be an ISO date (2026-12-01) or a duration like 24h, got "${value}"`)
}
