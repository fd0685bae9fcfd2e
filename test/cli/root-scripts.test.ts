// The README's command-line section, run as written from the repository root (issue 16: `npx betar-devnet` looked the
// name up on the public registry, and nothing said how to run the `betar` CLI).
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')
const run = promisify(execFile)
const PNPM = 'npx -y pnpm@12.21.0'

/** The ```sh block of the README's "Command line" section. */
function readmeCliBlock(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.split(/^## /m).find((s) => s.startsWith('Command line'))
  if (section == null) throw new Error('README.md has no "## Command line" section')
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1]
  if (block == null) throw new Error('the "Command line" section has no ```sh block')
  return block
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
}

describe("the README's root commands", () => {
  const dir = mkdtempSync(join(tmpdir(), 'betar-readme-'))
  const background: ChildProcess[] = []
  afterAll(() => {
    // The whole tree (bash, npx, pnpm, its script shell in its own process group, the launcher, the devnet): the
    // devnet stops anvil on SIGINT.
    for (const child of background) if (child.pid != null) for (const pid of tree(child.pid)) signal(pid)
    rmSync(dir, { recursive: true, force: true })
  })

  it('package.json has the betar, betar-devnet and betar-conformance scripts the README uses', () => {
    const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>
    }
    expect(scripts.betar).toBeDefined()
    expect(scripts['betar-devnet']).toBeDefined()
    expect(scripts['betar-conformance']).toBeDefined()
    expect(readFileSync(join(root, 'README.md'), 'utf8')).not.toMatch(/npx betar/)
  })

  it('runs every line of the "Command line" block from the root (a devnet, then the CLI on it)', async () => {
    const lines = readmeCliBlock()
    expect(lines.some((l) => l.startsWith(`${PNPM} betar-devnet`))).toBe(true)
    expect(lines.some((l) => l.startsWith(`${PNPM} betar `))).toBe(true)
    // Each line runs in a scratch copy of the working directory layout: the repository root is the cwd pnpm needs,
    // and files the lines write (devnet.json) go to `dir` through INIT_CWD, as when typed from that directory.
    const env = { ...process.env, BETAR_DATA_DIR: join(dir, 'data'), INIT_CWD: dir }
    for (const line of lines) {
      const script = line.replaceAll(PNPM, `${PNPM} -C ${JSON.stringify(root)}`)
      if (script.endsWith('&')) {
        // Backgrounded: wait until what it redirects to holds a complete JSON document.
        const target = /> *(\S+) *&$/.exec(script)?.[1]
        const child = spawn('bash', ['-c', script.replace(/&$/, '')], {
          cwd: dir,
          env,
          stdio: 'ignore'
        })
        background.push(child)
        if (target != null) await untilJson(join(dir, target), 30_000)
        continue
      }
      const { stdout } = await run('bash', ['-c', script], { cwd: dir, env, timeout: 60_000 })
      expect(stdout.length, line).toBeGreaterThan(0)
      if (/ betar wallet /.test(line)) expect(stdout).toMatch(/USDC/)
    }
  })
})

async function untilJson(path: string, timeoutMs: number): Promise<unknown> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return JSON.parse(readFileSync(path, 'utf8'))
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${path} never held JSON`, { cause: err })
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

/** `pid` and its descendants, deepest first. */
function tree(pid: number): number[] {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((r) => r.trim().split(/\s+/).map(Number))
  const children = (p: number): number[] => rows.filter(([, pp]) => pp === p).flatMap(([c]) => [...children(c!), c!])
  return [...children(pid), pid]
}

function signal(pid: number): void {
  try {
    process.kill(pid, 'SIGINT')
  } catch {
    // already gone
  }
}
