import { defineProject } from 'vitest/config'
import { betarProject } from '../vitest.shared.ts'

/**
 * Repository-level tests: what a user of the repository or of the published packages sees — the README's root
 * commands, the generated CLI and REST docs, every documented TypeScript snippet, and the packed packages installed
 * outside the workspace.
 */
const project = betarProject(import.meta.dirname, { testTimeout: 120_000, hookTimeout: 180_000 })
export default defineProject({ ...project, test: { ...project.test, name: 'repo', include: ['**/*.test.ts'] } })
