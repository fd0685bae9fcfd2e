import type { FuzzTarget } from '@betar/fuzz'
import { v1Frame } from './v1-frame.ts'
import { v1JsonClient } from './v1-json-client.ts'
import { v1JsonServer } from './v1-json-server.ts'
import { v2ClientJson } from './v2-client-json.ts'
import { v2Frame } from './v2-frame.ts'
import { v2Payment } from './v2-payment.ts'

/** Every decoder of `@betar/x402-libp2p` that reads peer bytes (`pnpm fuzz` and the smoke in fuzz.test.ts). */
export const targets: FuzzTarget[] = [v2Frame, v2Payment, v2ClientJson, v1Frame, v1JsonServer, v1JsonClient]
