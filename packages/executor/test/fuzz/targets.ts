import type { FuzzTarget } from '@betar/fuzz'
import { requestBody } from './request-body.ts'

/** The decoder of `@betar/executor` that reads a buyer's bytes (`pnpm fuzz` and the smoke in fuzz.test.ts). */
export const targets: FuzzTarget[] = [requestBody]
