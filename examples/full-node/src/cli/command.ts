/** One `betar` sub-command. */
export interface Command {
  name: string
  /** One line for `betar --help`. */
  summary: string
  /** Runs with the arguments after the command name. */
  run(argv: string[]): Promise<void>
}

/** A command as `betar --help` lists it; its module (and its heavy dependencies) is loaded only when it runs. */
export interface CommandEntry {
  name: string
  summary: string
  load(): Promise<Command>
}
