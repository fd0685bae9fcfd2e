import { fileURLToPath } from 'node:url'
import { defineProject } from 'vitest/config'

/** Conditions that resolve workspace packages to their TypeScript sources, so tests never need a build. */
const conditions = ['@betar/source', 'import', 'node', 'default']

/**
 * The settings every package's vitest project shares. Files of the other projects run side by side, as many as the
 * root config's `maxWorkers` (most tests wait on anvil, sockets and child processes, not on the CPU). Packages call `betarProject(import.meta.dirname)`.
 */
export function betarProject(
  root: string,
  overrides: { testTimeout?: number; hookTimeout?: number; maxWorkers?: number } = {}
) {
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
      hookTimeout: overrides.hookTimeout ?? 30_000,
      // A project with `maxWorkers: 1` runs after all others, one file at a time, with the machine to itself
      // (vitest puts such projects in a sequential group of their own): for tests that measure stalls or saturate
      // both cores.
      ...(overrides.maxWorkers != null ? { maxWorkers: overrides.maxWorkers } : {})
    }
  })
}
