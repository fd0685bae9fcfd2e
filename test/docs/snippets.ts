// Finds the fenced TypeScript snippets of the documentation and runs them as a reader would paste them.
//
// Which snippets: every ```ts / ```typescript block of README.md, docs/*.md, docs/spec/*.md, and the README of each
// package (packages/*, contracts, examples/*).
//
// How they run: each block is a program, unless its info string says otherwise:
//   ```ts continued          appended to the previous program of the same file (a guide that builds one program
//                            step by step, with prose in between)
//   ```ts no-run — <reason>  not run; the reason is required (an em dash, a hyphen or a colon, then words)
// A program is written to a scratch project outside the workspace whose node_modules holds the workspace packages
// under their published names (linked to their sources, resolved with the `@betar/source` condition, so no build is
// needed) and the third-party packages the workspace installs, then run with Node (tsx strips the types) — with no
// polyfill: the packages must work on Node 20 by themselves. It must exit 0 within its time limit, so it stops what
// it starts.
import { spawn } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'

export const root = join(import.meta.dirname, '..', '..')

export interface Snippet {
  /** Repository-relative path of the Markdown file. */
  file: string
  /** 1-based line of the opening fence. */
  line: number
  info: string
  code: string
}

export interface Program {
  /** `file:line` of its first block (and of the blocks continuing it). */
  name: string
  file: string
  code: string
}

export interface Skipped {
  name: string
  reason: string
}

/** The Markdown files whose TypeScript snippets must run. */
export function documentationFiles(): string[] {
  const files = ['README.md']
  const inDir = (dir: string) =>
    existsSync(join(root, dir))
      ? readdirSync(join(root, dir))
          .filter((f) => f.endsWith('.md'))
          .map((f) => `${dir}/${f}`)
      : []
  files.push(...inDir('docs'), ...inDir('docs/spec'))
  for (const parent of ['packages', 'examples']) {
    for (const dir of readdirSync(join(root, parent))) {
      if (existsSync(join(root, parent, dir, 'README.md'))) files.push(`${parent}/${dir}/README.md`)
    }
  }
  files.push('contracts/README.md')
  return files.filter((f) => existsSync(join(root, f))).sort()
}

const FENCE = /^(\s*)```(ts|typescript)\b([^\n]*)$/

export function snippetsOf(file: string): Snippet[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n')
  const snippets: Snippet[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? '')
    if (open == null) {
      // skip other fenced blocks whole, so a ```ts inside a ```md example is not taken
      const other = /^(\s*)(```+|~~~+)/.exec(lines[i] ?? '')
      if (other != null) {
        const closer = other[2] ?? '```'
        for (i++; i < lines.length && !(lines[i] ?? '').trim().startsWith(closer); i++);
      }
      continue
    }
    const indent = open[1] ?? ''
    const body: string[] = []
    let j = i + 1
    for (; j < lines.length && (lines[j] ?? '').trim() !== '```'; j++) body.push((lines[j] ?? '').slice(indent.length))
    snippets.push({ file, line: i + 1, info: (open[3] ?? '').trim(), code: body.join('\n') })
    i = j
  }
  return snippets
}

const NO_RUN = /^no-run\s*(?:—|–|-|:)\s*(\S.{9,})$/

/** The programs of all documentation files, and the snippets that opted out (with their reasons). */
export function collectPrograms(files = documentationFiles()): {
  programs: Program[]
  skipped: Skipped[]
  errors: string[]
} {
  const programs: Program[] = []
  const skipped: Skipped[] = []
  const errors: string[] = []
  for (const file of files) {
    let current: Program | undefined
    for (const s of snippetsOf(file)) {
      const name = `${s.file}:${s.line}`
      if (s.info === '') {
        current = { name, file, code: s.code }
        programs.push(current)
      } else if (s.info === 'continued') {
        if (current == null) errors.push(`${name}: \`ts continued\` with no program before it in ${file}`)
        else {
          current.code += `\n\n// ${name}\n${s.code}`
          current.name += `+${s.line}`
        }
      } else if (s.info.startsWith('no-run')) {
        const reason = NO_RUN.exec(s.info)?.[1]
        if (reason == null) {
          errors.push(`${name}: \`no-run\` needs a reason: \`\`\`ts no-run — why it cannot run alone (10+ characters)`)
        } else skipped.push({ name, reason })
      } else {
        errors.push(`${name}: unknown snippet marker "${s.info}" (use "continued" or "no-run — <reason>")`)
      }
    }
  }
  return { programs, skipped, errors }
}

/**
 * A scratch project outside the workspace: node_modules links each workspace package under its published name and
 * the third-party packages the workspace's packages depend on. Returns its directory.
 */
export function scratchProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'betar-doc-snippets-'))
  const modules = join(dir, 'node_modules')
  mkdirSync(join(modules, '@betar'), { recursive: true })
  writeFileSync(join(dir, 'package.json'), '{ "name": "doc-snippets", "private": true, "type": "module" }\n')
  const linked = new Set<string>()
  const link = (name: string, target: string) => {
    if (linked.has(name)) return
    linked.add(name)
    const at = join(modules, name)
    mkdirSync(join(at, '..'), { recursive: true })
    symlinkSync(target, at, 'dir')
  }
  const packageDirs = [
    'contracts',
    ...['packages', 'examples'].flatMap((p) => readdirSync(join(root, p)).map((d) => `${p}/${d}`))
  ]
  for (const dir of packageDirs) {
    const manifest = join(root, dir, 'package.json')
    if (!existsSync(manifest)) continue
    const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string }
    link(name, join(root, dir))
  }
  // Third-party packages: what the workspace packages have installed (the same versions a user gets from npm).
  for (const dir of packageDirs) {
    const nm = join(root, dir, 'node_modules')
    if (!existsSync(nm)) continue
    for (const entry of readdirSync(nm)) {
      if (entry.startsWith('.') || entry === '@betar') continue
      if (entry.startsWith('@')) {
        for (const sub of readdirSync(join(nm, entry))) link(`${entry}/${sub}`, join(nm, entry, sub))
      } else link(entry, join(nm, entry))
    }
  }
  return dir
}

export interface RunResult {
  program: Program
  code: number | null
  ms: number
  output: string
  timedOut: boolean
}

const tsx = createRequire(import.meta.url).resolve('tsx')

/** Runs one program in `project` (its own process, no polyfill), killing it after `timeoutMs`. */
export function runProgram(project: string, program: Program, timeoutMs: number): Promise<RunResult> {
  const file = join(project, `${program.name.replace(/[^A-Za-z0-9]+/g, '_')}.ts`)
  writeFileSync(file, `// ${program.name}\n${program.code}\n`)
  const started = Date.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=@betar/source', '--import', tsx, file], {
      cwd: project,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString()
    })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ program, code, ms: Date.now() - started, output: output.slice(-4000), timedOut })
    })
  })
}

/** Runs `programs` `concurrency` at a time. */
export async function runAll(
  project: string,
  programs: Program[],
  { concurrency = 3, timeoutMs = 45_000 } = {}
): Promise<RunResult[]> {
  const results: RunResult[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, programs.length) }, async () => {
      while (next < programs.length) {
        const program = programs[next++]!
        results.push(await runProgram(project, program, timeoutMs))
      }
    })
  )
  return results
}

export function removeProject(dir: string): void {
  if (relative(tmpdir(), dir).startsWith('betar-doc-snippets-')) rmSync(dir, { recursive: true, force: true })
}

// `tsx test/docs/snippets.ts [file.md…]`: runs the programs of the given files (all by default) and prints results.
if (process.argv[1] != null && import.meta.filename === process.argv[1]) {
  const files = process.argv.slice(2)
  const { programs, skipped, errors } = collectPrograms(files.length > 0 ? files : undefined)
  for (const e of errors) console.log(`ERROR ${e}`)
  for (const s of skipped) console.log(`skip  ${s.name}: ${s.reason}`)
  const project = scratchProject()
  const results = await runAll(project, programs)
  for (const r of results) {
    console.log(`${r.code === 0 ? 'ok  ' : 'FAIL'}  ${r.program.name} ${r.ms} ms${r.timedOut ? ' (timed out)' : ''}`)
    if (r.code !== 0) console.log(r.output)
  }
  removeProject(project)
}
