/**
 * `pnpm fuzz`: runs every fuzz target of the repository (each package's `test/fuzz/targets.ts`), one child process per
 * target, `FUZZ_JOBS` at a time (default 2), then prints the table. Budget per target: `FUZZ_EXECUTIONS` (default
 * 1,000,000 for cheap decoders, 250,000 for JSON, Yjs and HTTP ones) and `FUZZ_SECONDS` (a time cap); `FUZZ_SEED`;
 * `FUZZ_TARGETS=name,name` runs only those. Findings are saved under `<package>/test/fixtures/fuzz/<target>/` and
 * replayed by the package's tests. Exits 1 when any target found something. See docs/fuzzing.md.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { clean, formatTable } from '../packages/fuzz/src/report.ts'
import type { FuzzReport } from '../packages/fuzz/src/run.ts'

const root = join(import.meta.dirname, '..')
const cli = join(root, 'packages', 'fuzz', 'src', 'cli.ts')
const nodeArgs = ['--expose-gc', '--import', 'tsx', '--conditions=@betar/source']

interface Job {
  file: string
  name: string
  cost: 'cheap' | 'heavy'
}

function targetFiles(): string[] {
  const files: string[] = []
  for (const group of ['packages', 'examples']) {
    for (const dir of readdirSync(join(root, group))) {
      const file = join(root, group, dir, 'test', 'fuzz', 'targets.ts')
      if (existsSync(file)) files.push(file)
    }
  }
  return files
}

function run(args: string[], onStderr: (line: string) => void): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, cli, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let pending = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) onStderr(line)
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (pending !== '') onStderr(pending)
      resolve({ code: code ?? (signal != null ? 128 : null), stdout })
    })
  })
}

async function list(file: string): Promise<Job[]> {
  const { code, stdout } = await run([file, '--list'], (line) => process.stderr.write(`${line}\n`))
  if (code !== 0) throw new Error(`listing the targets of ${file} failed (exit ${code})`)
  return (JSON.parse(stdout) as Array<{ name: string; cost: 'cheap' | 'heavy' }>).map((t) => ({ file, ...t }))
}

function failedRun(job: Job, code: number | null): FuzzReport {
  // A run that died without a report: the watchdog killed it (a hang) or the process crashed.
  return {
    target: `${job.name} (exit ${code})`,
    executions: 0,
    accepted: 0,
    typed: 0,
    untyped: code === 128 ? 0 : 1,
    hangs: code === 128 ? 1 : 0,
    acceptedInvalid: 0,
    heapDelta: 0,
    heapPeak: 0,
    slowestMs: 0,
    seconds: 0,
    findings: []
  }
}

async function main(): Promise<void> {
  const only = (process.env.FUZZ_TARGETS ?? '').split(',').filter((s) => s !== '')
  const jobs: Job[] = []
  for (const file of targetFiles()) jobs.push(...(await list(file)))
  const selected = jobs.filter((j) => only.length === 0 || only.includes(j.name))
  const reports = new Map<string, FuzzReport>()
  const width = Number(process.env.FUZZ_JOBS ?? 2)
  let next = 0
  const worker = async (): Promise<void> => {
    for (let job = selected[next++]; job != null; job = selected[next++]) {
      const { code, stdout } = await run([job.file, job.name], (line) => process.stderr.write(`${line}\n`))
      const line = stdout.split('\n').find((l) => l.startsWith('FUZZ_REPORT '))
      reports.set(job.name, line != null ? (JSON.parse(line.slice(12)) as FuzzReport) : failedRun(job, code))
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, width) }, worker))
  const ordered = selected.map((j) => reports.get(j.name)).filter((r): r is FuzzReport => r != null)
  const table = formatTable(ordered)
  const cache = join(root, 'node_modules', '.cache', 'fuzz')
  mkdirSync(cache, { recursive: true })
  writeFileSync(join(cache, 'last-run.json'), `${JSON.stringify(ordered, null, 2)}\n`)
  writeFileSync(join(cache, 'last-run.md'), `${table}\n`)
  process.stdout.write(`${table}\n`)
  process.exit(ordered.every(clean) && ordered.length === selected.length ? 0 : 1)
}

await main()
