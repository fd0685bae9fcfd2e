#!/usr/bin/env node
// Runs the whole vitest suite and ends with one plain summary line ("tests: N passed, N failed, N skipped"),
// which CI systems that do not parse vitest's own output can read. Exits with vitest's exit code.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const dir = join(import.meta.dirname, '..', 'node_modules', '.cache')
mkdirSync(dir, { recursive: true })
const report = join(dir, 'vitest-report.json')
rmSync(report, { force: true })

const { status } = spawnSync(
  'vitest',
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { stdio: 'inherit', shell: process.platform === 'win32' }
)

if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8'))
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`)
  if (r.numTotalTests === 0) {
    console.log('tests: no test ran')
    process.exit(1)
  }
} else {
  console.log('tests: 0 passed, 1 failed (vitest wrote no report)')
}
process.exit(status ?? 1)
