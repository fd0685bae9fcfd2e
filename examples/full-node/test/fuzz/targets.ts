import type { FuzzTarget } from '@betar/fuzz'
import { restBodies } from './rest-bodies.ts'
import { restQueries } from './rest-queries.ts'

/** The full node's REST input (`pnpm fuzz` and the smoke in fuzz.test.ts). */
export const targets: FuzzTarget[] = [restBodies, restQueries]
