import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Finding } from './target.ts'

/** The folder of a target's findings: `<package>/test/fixtures/fuzz/<target>/`. */
export function findingsDir(packageDir: string, target: string): string {
  return join(packageDir, 'test', 'fixtures', 'fuzz', target)
}

/** Saves a finding's input as `<kind>-<sha256 prefix>.bin` (the same input is saved once); returns the path. */
export function saveFinding(dir: string, finding: Finding): string {
  mkdirSync(dir, { recursive: true })
  const hash = createHash('sha256').update(finding.input).digest('hex').slice(0, 16)
  const file = join(dir, `${finding.kind}-${hash}.bin`)
  writeFileSync(file, finding.input)
  return file
}

/** The saved inputs of a target (`*.bin`, sorted by name), to replay as regression tests. */
export function savedInputs(dir: string): Array<{ name: string; input: Uint8Array }> {
  let names: string[]
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.bin'))
  } catch {
    return []
  }
  return names.sort().map((name) => ({ name, input: new Uint8Array(readFileSync(join(dir, name))) }))
}
