import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface, type Interface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Config } from './buyers-process.ts'

/** Buyers running in their own process (bench/buyers-process.ts), driven over its stdin/stdout. */
export interface RemoteBuyers {
  /** Runs every buyer's loop of `perBuyer` calls there: wall time and each call's latency, ms. */
  run(perBuyer: number): Promise<{ ms: number; latencies: number[] }>
  stop(): Promise<void>
}

/** Starts the buyers' process and waits until its buyers are ready (libp2p ones dialled to the seller). */
export async function startRemoteBuyers(config: Config): Promise<RemoteBuyers> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@betar/source', fileURLToPath(new URL('./buyers-process.ts', import.meta.url))],
    { stdio: ['pipe', 'pipe', 'inherit'] }
  )
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  const lines: Interface = createInterface({ input: child.stdout as NonNullable<ChildProcess['stdout']> })
  const iterator = lines[Symbol.asyncIterator]()
  const read = async (): Promise<Record<string, unknown>> => {
    const line = await Promise.race([
      iterator.next(),
      exited.then((code) => {
        throw new Error(`the buyers' process exited (${code})`)
      })
    ])
    if (line.done === true) throw new Error("the buyers' process closed its output")
    const value = JSON.parse(line.value) as Record<string, unknown>
    if (typeof value.error === 'string') throw new Error(`buyers' process: ${value.error}`)
    return value
  }
  child.stdin?.write(`${JSON.stringify(config)}\n`)
  try {
    await read()
  } catch (err) {
    child.kill()
    throw err
  }
  return {
    run: async (perBuyer) => {
      child.stdin?.write(`${JSON.stringify({ run: perBuyer })}\n`)
      return (await read()) as unknown as { ms: number; latencies: number[] }
    },
    stop: async () => {
      child.stdin?.end()
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
  }
}
