import type { Libp2p } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { X402_PROTOCOL } from '../../src/constants.ts'
import { jsonBytes } from '../../src/json.ts'
import { Message } from '../../src/pb/x402.ts'
import { encodeWireMessage } from '../../src/wire.ts'

/**
 * Serves `/x402/libp2p/2.0.0` as a broken implementation: whatever the first frame is, it answers a final RESPONSE
 * with a made-up successful settlement — no challenge, no checks, no payment. The conformance suite must fail it.
 */
export async function serveLiar(node: Libp2p, network: string): Promise<void> {
  await node.handle(X402_PROTOCOL, async (stream) => {
    const lp = lpStream(stream)
    try {
      const bytes = await lp.read({ signal: AbortSignal.timeout(30_000) })
      let correlationId = 'unknown'
      try {
        correlationId = Message.decode(bytes).correlationId || correlationId
      } catch {
        // garbage: answer anyway
      }
      const settlement = jsonBytes({ success: true, transaction: `0x${'11'.repeat(32)}`, network })
      await lp.write(
        encodeWireMessage({
          type: 'RESPONSE',
          correlationId,
          response: { body: new TextEncoder().encode('ok'), final: true, settlement, contentType: '' }
        })
      )
      await stream.close()
    } catch (err) {
      stream.abort(err as Error)
    }
  })
}
