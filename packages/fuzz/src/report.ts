import type { FuzzReport } from './run.ts'

/** Heap bound above which a run's heap does not count as flat (bytes). */
export const FLAT_HEAP_BYTES = 8 * 1024 * 1024

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`
}

/** Whether a run found nothing: no untyped error, no hang, nothing invalid accepted, heap flat. */
export function clean(r: FuzzReport): boolean {
  return r.untyped === 0 && r.hangs === 0 && r.acceptedInvalid === 0 && r.heapDelta < FLAT_HEAP_BYTES
}

/** The fuzz table (Markdown): one row per target. */
export function formatTable(reports: readonly FuzzReport[]): string {
  const head = [
    'target',
    'executions',
    'exec/s',
    'accepted',
    'untyped errors',
    'hangs',
    'slowest',
    'heap delta',
    'heap peak',
    'accepted-invalid'
  ]
  const rows = reports.map((r) => [
    r.target,
    r.executions.toLocaleString('en-US'),
    Math.round(r.executions / Math.max(r.seconds, 1e-3)).toLocaleString('en-US'),
    r.accepted.toLocaleString('en-US'),
    String(r.untyped),
    String(r.hangs),
    `${r.slowestMs.toFixed(1)} ms`,
    mib(r.heapDelta),
    mib(r.heapPeak),
    String(r.acceptedInvalid)
  ])
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n')
}
