import type { ConformanceReport } from '../conformance/index.ts'

function status(r: ConformanceReport['results'][number]): string {
  if (r.skipped != null) return 'skip'
  return r.passed ? 'pass' : 'FAIL'
}

/** A per-case table (case id, status, ms, message) and a summary line. */
export function formatTable(report: ConformanceReport): string {
  const rows = report.results.map((r) => [r.id, status(r), String(r.durationMs), r.error ?? r.skipped ?? ''])
  const head = ['case', 'status', 'ms', 'message']
  const widths = [0, 1, 2].map((i) => Math.max(head[i]!.length, ...rows.map((row) => row[i]!.length)))
  const line = (row: string[]): string =>
    row
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell))
      .join('  ')
      .trimEnd()
  const summary = `${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`
  return [line(head), ...rows.map(line), '', summary].join('\n')
}

/** The report as JSON (bigints never occur in results), with the devnet's summary first when `--devnet` ran. */
export function formatJson(report: ConformanceReport & { devnet?: unknown }): string {
  return JSON.stringify(report, null, 2)
}
