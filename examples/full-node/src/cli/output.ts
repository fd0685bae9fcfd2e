/** Writes one line on stdout (the command's result). */
export function out(line: string): void {
  process.stdout.write(`${line}\n`)
}

/** Writes a progress line on stderr, so stdout stays parseable. */
export function progress(line: string): void {
  process.stderr.write(`betar: ${line}\n`)
}

/** Prints `value` as JSON on stdout, bigints as decimal strings. */
export function outJson(value: unknown): void {
  out(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2))
}
