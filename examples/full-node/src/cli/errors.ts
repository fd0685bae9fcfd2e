/** A user-facing CLI failure: its message is printed on stderr and the process exits with code 1. */
export class CliError extends Error {
  override name = 'CliError'
}
