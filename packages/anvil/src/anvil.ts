import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { resolveAnvilBinary } from './binary.ts'
import { DEFAULT_CHAIN_ID, DEFAULT_HOST, DEFAULT_START_TIMEOUT_MS, LOG_TAIL_LINES, STOP_GRACE_MS } from './constants.ts'
import { AnvilExitedError, AnvilStartError } from './errors.ts'

/** Options for {@link startAnvil}. Every field is optional. */
export interface StartAnvilOptions {
  /**
   * Interface to bind. Anvil is a development node with unlocked accounts: keep it on loopback.
   *
   * @default '127.0.0.1'
   */
  host?: string
  /**
   * Port to listen on; `0` lets the kernel pick a free one, which is then read back from anvil's banner.
   *
   * @default 0
   */
  port?: number
  /** @default 31337 */
  chainId?: number
  /** Number of dev accounts derived from the mnemonic. @default 10 */
  accounts?: number
  /** ETH balance of each dev account, in whole ether. @default 10000 */
  balance?: number
  /** BIP-39 mnemonic for the dev accounts. @default anvil's `test test … junk` */
  mnemonic?: string
  /** Seconds between blocks; automine (one block per transaction) when absent. */
  blockTime?: number
  /** Path to an anvil binary; the one shipped by `@foundry-rs/anvil` when absent. */
  binary?: string
  /** Extra raw command-line arguments. */
  args?: string[]
  /** How long anvil may take to start answering. @default 10000 */
  startTimeout?: number
  /** Aborts the start; the process is killed. */
  signal?: AbortSignal
}

/** A running anvil process. */
export interface Anvil {
  /** `http://host:port`. */
  readonly rpcUrl: string
  readonly host: string
  readonly port: number
  readonly chainId: number
  /** The child process (stdio is drained internally). */
  readonly process: ChildProcess
  /** The last lines anvil printed, for diagnostics. */
  logs(): string[]
  /** Terminates anvil (SIGTERM, then SIGKILL after a grace period). Idempotent. */
  stop(): Promise<void>
}

const LISTENING = /Listening on ([^\s]+):(\d+)/

/**
 * Spawns anvil on a free loopback port and resolves once it listens.
 *
 * We spawn the binary ourselves rather than through a process manager such as `prool`, because those need the port
 * up front (a check-then-bind race); with `--port 0` anvil binds atomically and announces the port it got.
 *
 * @example
 * ```ts
 * const anvil = await startAnvil()
 * const client = createPublicClient({ transport: http(anvil.rpcUrl) })
 * await anvil.stop()
 * ```
 */
export async function startAnvil(options: StartAnvilOptions = {}): Promise<Anvil> {
  const host = options.host ?? DEFAULT_HOST
  const chainId = options.chainId ?? DEFAULT_CHAIN_ID
  const args = ['--host', host, '--port', String(options.port ?? 0), '--chain-id', String(chainId)]
  if (options.accounts != null) args.push('--accounts', String(options.accounts))
  if (options.balance != null) args.push('--balance', String(options.balance))
  if (options.mnemonic != null) args.push('--mnemonic', options.mnemonic)
  if (options.blockTime != null) args.push('--block-time', String(options.blockTime))
  args.push(...(options.args ?? []))

  options.signal?.throwIfAborted()
  const child = spawn(options.binary ?? resolveAnvilBinary(), args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FOUNDRY_DISABLE_NIGHTLY_WARNING: 'true', NO_COLOR: '1' }
  })

  // Anvil logs every RPC call; keep draining both pipes for its whole life so it never blocks on a full pipe.
  const tail: string[] = []
  const remember = (line: string): void => {
    tail.push(line)
    if (tail.length > LOG_TAIL_LINES) tail.shift()
  }
  // (Promise.withResolvers is Node >= 22.)
  let resolve!: (port: number) => void
  let reject!: (err: unknown) => void
  const listening = new Promise<number>((res, rej) => {
    resolve = res
    reject = rej
  })
  createInterface({ input: child.stdout }).on('line', (line) => {
    remember(line)
    const match = LISTENING.exec(line)
    if (match?.[2] != null) resolve(Number(match[2]))
  })
  createInterface({ input: child.stderr }).on('line', remember)

  // Never leave an orphan node behind if this process exits without calling stop().
  const killOnExit = (): void => {
    child.kill('SIGKILL')
  }
  process.once('exit', killOnExit)
  const exited = new Promise<void>((res) =>
    child.once('exit', () => {
      process.removeListener('exit', killOnExit)
      res()
    })
  )
  child.once('error', (err) => reject(new AnvilStartError(`could not spawn anvil: ${err.message}`, tail, err)))
  // 'close' (not 'exit') fires after stdout/stderr are drained, so the error carries anvil's last words.
  child.once('close', (code, sig) => reject(new AnvilExitedError(code, sig, tail)))

  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return exited
    stopped = true
    if (child.exitCode != null || child.signalCode != null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
    await exited
    clearTimeout(timer)
  }

  const timeout = options.startTimeout ?? DEFAULT_START_TIMEOUT_MS
  const timer = setTimeout(() => reject(new AnvilStartError(`anvil did not start within ${timeout} ms`, tail)), timeout)
  const onAbort = (): void => reject(options.signal?.reason)
  options.signal?.addEventListener('abort', onAbort, { once: true })
  let port: number
  try {
    port = await listening
  } catch (err) {
    await stop()
    throw err
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onAbort)
  }

  return {
    rpcUrl: `http://${host}:${port}`,
    host,
    port,
    chainId,
    process: child,
    logs: () => [...tail],
    stop
  }
}
