import type { FuzzTarget } from '@betar/fuzz'
import { agentFile } from './agent-file.ts'
import { registrationFile } from './registration-file.ts'

/** Every decoder of `@betar/identity` that reads peer bytes (`pnpm fuzz` and the smoke in fuzz.test.ts). */
export const targets: FuzzTarget[] = [registrationFile, agentFile]
