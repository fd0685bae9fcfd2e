import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      'packages/*/vitest.config.ts',
      'contracts/vitest.config.ts',
      'examples/*/vitest.config.ts',
      'test/vitest.config.ts'
    ],
    reporters: ['default']
  }
})
