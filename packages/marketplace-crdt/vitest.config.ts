import { betarProject } from '../../vitest.shared.ts'

export default betarProject(import.meta.dirname, { maxWorkers: 1 })
