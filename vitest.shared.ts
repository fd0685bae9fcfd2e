import { fileURLToPath } from 'node:url'
import { defineProject } from 'vitest/config'

/** Conditions that resolve workspace packages to their TypeScript sources, so tests never need a build. */
const conditions = ['@betar/source', 'import', 'node', 'default']

/**
 * The settings every package's vitest project shares. Packages call `betarProject(import.meta.dirname)`.
 */
export function betarProject(root: string, overrides: { testTimeout?: number; hookTimeout?: number } = {}) {
  return defineProject({
    root,
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: conditions } },
    test: {
      name: root.split('/').slice(-1)[0] ?? root,
      environment: 'node',
      include: ['test/**/*.test.ts'],
      pool: 'forks',
      setupFiles: [fileURLToPath(new URL('./tools/polyfills.ts', import.meta.url))],
      testTimeout: overrides.testTimeout ?? 30_000,
      hookTimeout: overrides.hookTimeout ?? 30_000
    }
  })
}
