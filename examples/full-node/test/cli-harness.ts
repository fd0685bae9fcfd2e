import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const tsx = createRequire(import.meta.url).resolve('tsx')
const bin = join(import.meta.dirname, '..', 'src', 'cli', 'bin.ts')
const nodeArgs = ['--conditions=@betar/source', '--import', tsx, bin]

/** One finished CLI run. */
export interface Run {
  code: number
  stdout: string
  stderr: string
}

/** A `betar start` running in the background. */
export interface RunningSeller {
  child: ChildProcess
  stdout: string
}

/**
 * Runs the `betar` CLI from source as separate processes (as `betar` runs from dist), against the devnet described in
 * `devnetFile`, with a clean `BETAR_*` environment. Every output is appended to `outputs` (to check no secret leaks).
 */
export function cliRunner(devnetFile: string, outputs: string[] = []) {
  const env = (extra: Record<string, string>) => ({
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BETAR_'))),
    BETAR_DEVNET: devnetFile,
    ...extra
  })

  /** Runs one command to completion. */
  function cli(args: string[], extra: Record<string, string> = {}, timeoutMs = 60_000): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [...nodeArgs, ...args],
        { timeout: timeoutMs, env: env(extra) },
        (error, stdout, stderr) => {
          outputs.push(stdout, stderr)
          const code = error == null ? 0 : typeof error.code === 'number' ? error.code : -1
          resolve({ code, stdout, stderr })
        }
      )
    })
  }

  /** Starts a command in the background (e.g. a `betar call` to kill mid-way). */
  function spawnCli(args: string[], extra: Record<string, string> = {}): ChildProcess {
    return spawn(process.execPath, [...nodeArgs, ...args], { env: env(extra), stdio: ['ignore', 'pipe', 'pipe'] })
  }

  /** Starts `betar start` in the background and resolves once it prints "Ready.". */
  function startSeller(args: string[], extra: Record<string, string>): Promise<RunningSeller> {
    const child = spawnCli(['start', ...args], extra)
    let stdout = ''
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`seller not ready: ${stderr}`)), 60_000)
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString()
        if (stdout.includes('Ready.')) {
          clearTimeout(timer)
          resolve({ child, stdout })
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        outputs.push(stdout, stderr)
        reject(new Error(`seller exited with ${code}: ${stderr}`))
      })
    })
  }

  return { cli, spawnCli, startSeller }
}
