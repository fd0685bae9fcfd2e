// docs/cli.md and docs/rest-api.md cannot drift from the code: their generated blocks must equal what
// `pnpm docs:gen` writes from the CLI's --help output and the REST API's OpenAPI document, every command needs a
// hand-written example and every BETAR_* variable the CLI reads a row. On failure the message says what to do.
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')
const tsx = createRequire(import.meta.url).resolve('tsx')

describe('docs/cli.md and docs/rest-api.md', () => {
  it('match the CLI and the OpenAPI document (else: run `pnpm docs:gen`, then write what it asks for)', async () => {
    const result = await promisify(execFile)(
      process.execPath,
      ['--conditions=@betar/source', '--import', tsx, join(root, 'scripts/docs-gen.ts'), '--check'],
      { cwd: root, timeout: 90_000 }
    ).then(
      (r) => ({ code: 0, stderr: r.stderr }),
      (err: { code?: number; stderr?: string }) => ({ code: err.code ?? 1, stderr: err.stderr ?? String(err) })
    )
    expect(result.stderr, `\n${result.stderr}`).not.toMatch(/docs:gen:/)
    expect(result.code).toBe(0)
  })
})
