import { type CliOptions, HELP, parseCli, UsageError } from './args.ts'
import type { CliDevnet } from './devnet.ts'

export interface Io {
  out(text: string): void
  err(text: string): void
}

const stdio: Io = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`)
}

/** `betar-conformance`: returns the exit code (0 all passed, 1 a case failed or the run broke, 2 usage error). */
export async function main(argv: string[], io: Io = stdio, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let opts: CliOptions | 'help'
  try {
    opts = parseCli(argv, env)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    io.err(`betar-conformance: ${err.message}\nRun "betar-conformance --help" for usage.`)
    return 2
  }
  if (opts === 'help') {
    io.out(HELP)
    return 0
  }
  const controller = new AbortController()
  const onSignal = (): void => controller.abort(new Error('interrupted'))
  process.once('SIGINT', onSignal)
  let devnet: CliDevnet | undefined
  try {
    // Loaded only now: a usage error or --help never pays for libp2p, viem's clients and the cases.
    const [{ run }, { formatDevnet, startCliDevnet }, { formatJson, formatTable }] = await Promise.all([
      import('./run.ts'),
      import('./devnet.ts'),
      import('./table.ts')
    ])
    if (opts.devnet != null) devnet = await startCliDevnet(opts.devnet)
    const rpc = devnet?.rpcUrl ?? opts.rpc
    const payerKey = devnet?.payerKey ?? opts.payerKey
    if (rpc == null || payerKey == null) throw new UsageError('missing --rpc or --payer-key')
    const report = await run({ ...opts, rpc, payerKey }, controller.signal)
    if (opts.json) {
      io.out(formatJson(devnet != null ? { devnet: devnet.summary, ...report } : report))
    } else {
      io.out(`${devnet != null ? formatDevnet(devnet.summary) : ''}${formatTable(report)}`)
    }
    return report.failed === 0 ? 0 : 1
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`betar-conformance: ${err.message}\nRun "betar-conformance --help" for usage.`)
      return 2
    }
    io.err(`betar-conformance: ${err instanceof Error ? err.message : String(err)}`)
    return 1
  } finally {
    process.off('SIGINT', onSignal)
    await devnet?.stop()
  }
}
