// Every fenced TypeScript snippet of README.md, docs/ and each package's README runs as written (issue 16), the way a
// reader would paste it: in a project outside the workspace that resolves the packages by their published names, on
// this Node (20 in CI) with no polyfill of its own. Markers and the resolution are described in ./snippets.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectPrograms, type RunResult, removeProject, runAll, scratchProject } from './snippets.ts'

const { programs, skipped, errors } = collectPrograms()

describe('documentation snippets', () => {
  let project: string
  const results = new Map<string, RunResult>()

  beforeAll(async () => {
    project = scratchProject()
    for (const r of await runAll(project, programs, { concurrency: 4, timeoutMs: 90_000 }))
      results.set(r.program.name, r)
  }, 400_000)
  afterAll(() => {
    if (project != null) removeProject(project)
  })

  it('are well marked (`ts`, `ts continued`, or `ts no-run — <reason>`)', () => {
    expect(errors).toEqual([])
    expect(programs.length).toBeGreaterThanOrEqual(12)
    for (const s of skipped) expect(s.reason.length, s.name).toBeGreaterThanOrEqual(10)
  })

  for (const program of programs) {
    it(`${program.name} runs and exits 0`, () => {
      const r = results.get(program.name)
      expect(r, 'not run').toBeDefined()
      const why = r!.timedOut ? 'timed out: stop every node and devnet it starts' : `exit code ${r!.code}`
      expect(r!.code, `${program.name}: ${why}\n${r!.output}`).toBe(0)
    })
  }
})
