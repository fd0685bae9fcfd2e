import { type ChildProcess, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'

/**
 * Runs `seller-process.ts` as a child process (its own LevelDB data dir) that a test can `kill -9` between two of its
 * events and start again on the same data dir.
 */
const tsx = createRequire(import.meta.url).resolve('tsx')
const script = fileURLToPath(new URL('./seller-process.ts', import.meta.url))

export interface SellerProcess {
  child: ChildProcess
  addrs: Multiaddr[]
  /** Resolves with the first event line named `event` (and matching `filter`). */
  next(event: string, filter?: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>
}

export function startSellerProcess(config: Record<string, unknown>): Promise<SellerProcess> {
  const child = spawn(process.execPath, ['--conditions=@betar/source', '--import', tsx, script], {
    env: { ...process.env, BETAR_TEST_SELLER: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const lines: Array<Record<string, unknown>> = []
  const waiters: Array<{
    event: string
    filter: (l: Record<string, unknown>) => boolean
    resolve: (l: Record<string, unknown>) => void
  }> = []
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  createInterface({ input: child.stdout! }).on('line', (raw) => {
    let line: Record<string, unknown>
    try {
      line = JSON.parse(raw) as Record<string, unknown>
    } catch {
      return
    }
    lines.push(line)
    for (const w of [...waiters]) {
      if (w.event === line.event && w.filter(line)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(line)
      }
    }
  })
  const next = (event: string, filter: (l: Record<string, unknown>) => boolean = () => true) => {
    const seen = lines.find((l) => l.event === event && filter(l))
    if (seen != null) return Promise.resolve(seen)
    return new Promise<Record<string, unknown>>((resolve) => waiters.push({ event, filter, resolve }))
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`seller did not start: ${stderr}`)), 30_000)
    child.once('exit', (code) => reject(new Error(`seller exited (${code}): ${stderr}`)))
    void next('ready').then((ready) => {
      clearTimeout(timer)
      resolve({ child, addrs: (ready.addrs as string[]).map((a) => multiaddr(a)), next })
    })
  })
}

export function kill9(seller: SellerProcess): Promise<void> {
  if (seller.child.exitCode != null || seller.child.signalCode != null) return Promise.resolve()
  return new Promise((resolve) => {
    seller.child.once('exit', () => resolve())
    seller.child.kill('SIGKILL')
  })
}
