import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      'packages/*/vitest.config.ts',
      'contracts/vitest.config.ts',
      'examples/*/vitest.config.ts',
      'test/vitest.config.ts'
    ],
    reporters: ['default'],
    // Two files at a time on the 2-core reference machine (vitest's default there is one): the suite is mostly
    // waiting on anvil, loopback sockets and CLI child processes. Three were ≈ 1 min faster but left timing-bound
    // tests flaky under the load. BETAR_TEST_WORKERS overrides it.
    maxWorkers: Number(process.env.BETAR_TEST_WORKERS ?? 2)
  }
})
