import { fuzzSuite } from '@betar/fuzz/vitest'
import { targets } from './targets.ts'

fuzzSuite(targets, { packageDir: new URL('../..', import.meta.url).pathname })
