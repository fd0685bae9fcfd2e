/** Anvil could not be spawned or did not start listening in time. */
export class AnvilStartError extends Error {
  static override name = 'AnvilStartError'
  /** The last lines anvil printed before failing. */
  readonly logs: string[]

  constructor(message = 'anvil failed to start', logs: string[] = [], cause?: unknown) {
    super(logs.length > 0 ? `${message}\n${logs.join('\n')}` : message, { cause })
    this.name = 'AnvilStartError'
    this.logs = [...logs]
  }
}

/** The anvil process exited before it was listening. */
export class AnvilExitedError extends Error {
  static override name = 'AnvilExitedError'
  readonly exitCode: number | null
  readonly signal: NodeJS.Signals | null
  readonly logs: string[]

  constructor(exitCode: number | null, signal: NodeJS.Signals | null, logs: string[] = []) {
    super(`anvil exited (code ${exitCode}, signal ${signal})${logs.length > 0 ? `\n${logs.join('\n')}` : ''}`)
    this.name = 'AnvilExitedError'
    this.exitCode = exitCode
    this.signal = signal
    this.logs = [...logs]
  }
}
