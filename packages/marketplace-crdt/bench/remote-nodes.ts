import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** A group of marketplace nodes in their own process (bench/nodes-process.ts), driven over its stdin/stdout. */
export interface RemoteNodes {
  readonly pid: number | undefined
  /** Each node's multiaddrs. */
  readonly addrs: string[][]
  dial(plan: Array<[node: number, addrs: string[]]>): Promise<void>
  publish(plan: Array<[node: number, prefix: string, count: number]>): Promise<void>
  held(): Promise<number[]>
  stop(): Promise<void>
}

export async function startRemoteNodes(count: number): Promise<RemoteNodes> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@betar/source',
      fileURLToPath(new URL('./nodes-process.ts', import.meta.url)),
      String(count)
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] }
  )
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  const iterator = createInterface({ input: child.stdout as NonNullable<ChildProcess['stdout']> })[
    Symbol.asyncIterator
  ]()
  /** One command at a time: answers come back in order. */
  let queue: Promise<unknown> = Promise.resolve()
  const read = async (): Promise<Record<string, unknown>> => {
    const line = await Promise.race([
      iterator.next(),
      exited.then((code) => {
        throw new Error(`a nodes process exited (${code})`)
      })
    ])
    if (line.done === true) throw new Error('a nodes process closed its output')
    const value = JSON.parse(line.value) as Record<string, unknown>
    if (typeof value.error === 'string') throw new Error(`nodes process: ${value.error}`)
    return value
  }
  const ask = (command: unknown): Promise<Record<string, unknown>> => {
    const answer = queue.then(() => {
      child.stdin?.write(`${JSON.stringify(command)}\n`)
      return read()
    })
    queue = answer.catch(() => undefined)
    return answer
  }
  const { addrs } = (await read()) as { addrs: string[][] }
  return {
    pid: child.pid,
    addrs,
    dial: async (plan) => {
      await ask({ dial: plan })
    },
    publish: async (plan) => {
      await ask({ publish: plan })
    },
    held: async () => ((await ask({ held: true })) as { held: number[] }).held,
    stop: async () => {
      child.stdin?.end()
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    }
  }
}
