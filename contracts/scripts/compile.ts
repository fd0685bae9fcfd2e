/**
 * Recompiles `solidity/*.sol` and rewrites `src/generated/*.ts`.
 * Run with `pnpm --filter @betar/contracts compile`; `test/artifacts.test.ts` fails when this was forgotten.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { compileContracts, GENERATED_DIR } from './contracts.ts'

const files = compileContracts({ onWarning: (message) => console.warn(message) })
mkdirSync(GENERATED_DIR, { recursive: true })
for (const stale of readdirSync(GENERATED_DIR)) {
  if (stale.endsWith('.ts') && !files.has(stale)) rmSync(join(GENERATED_DIR, stale))
}
for (const [name, contents] of files) {
  writeFileSync(join(GENERATED_DIR, name), contents)
  console.log(`wrote src/generated/${name}`)
}
