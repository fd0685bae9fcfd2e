import type { FuzzTarget } from '@betar/fuzz'
import { dataUri } from './data-uri.ts'
import { feedbackFile } from './feedback-file.ts'

/** Every decoder of `@betar/reputation` that reads peer bytes (`pnpm fuzz` and the smoke in fuzz.test.ts). */
export const targets: FuzzTarget[] = [feedbackFile, dataUri]
