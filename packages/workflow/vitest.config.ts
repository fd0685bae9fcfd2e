import { betarProject } from '../../vitest.shared.ts'

export default betarProject(import.meta.dirname, { testTimeout: 120_000, hookTimeout: 60_000 })
