import type { PaymentRequirements } from '@x402/core/types'
import { toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toV1Envelope } from '../../src/client/v1.ts'
import { signExactPayment, X402_PROTOCOL_V1 } from '../../src/index.ts'
import { encodeV1RequestBody } from '../../src/v1/bodies.ts'
import { V1_MESSAGE_TYPES, X402_V1_PREEMPTIVE_NONCE, X402_V1_VERSION } from '../../src/v1/constants.ts'
import { readV1Frame, writeV1Frame } from '../../src/v1/frame.ts'
import { decodeV1Message, encodeV1Message } from '../../src/v1/messages.ts'
import type { V1EvmPayload } from '../../src/v1/types.ts'
import { type Chain, startChain } from '../fixtures/chain.ts'
import { createNode, type X402Node } from '../fixtures/nodes.ts'
import { startFaultySeller } from './harness.ts'

/**
 * `/x402/libp2p/1.0.0` (the Go prototype's protocol) shares the paid pipeline: a re-ask of a paid call is answered
 * from its call record, even while the resource is not registered (found by review).
 */
describe('a v1 (Go) re-ask of a paid call', () => {
  let chain: Chain
  let dialer: X402Node
  beforeAll(async () => {
    chain = await startChain(4)
    dialer = await createNode()
  })
  afterAll(async () => {
    await dialer?.stop()
    await chain?.stop()
  })

  it('is answered from the call record even when the resource is not registered (as on 2.0.0)', {
    timeout: 60_000
  }, async () => {
    const seller = await startFaultySeller(chain, chain.devnet.accounts[0]!.account)
    try {
      const buyer = chain.devnet.accounts[1]!.account
      const requirements = seller.node.services.x402Server.requirements('job')[0] as PaymentRequirements
      const payload = await signExactPayment(buyer, requirements, toHex(crypto.getRandomValues(new Uint8Array(32))))
      const envelope = toV1Envelope(requirements, buyer.address, payload.payload as unknown as V1EvmPayload)
      const frame = encodeV1Message(V1_MESSAGE_TYPES.request, {
        version: X402_V1_VERSION,
        correlation_id: 'v1-reask',
        resource: 'job',
        method: 'execute',
        payment: { ...envelope, server_nonce: X402_V1_PREEMPTIVE_NONCE },
        body: encodeV1RequestBody({ resource: 'job', input: 'x' })
      })
      const ask = async (): Promise<string> => {
        const stream = await dialer.dialProtocol(seller.node.getMultiaddrs(), X402_PROTOCOL_V1)
        await writeV1Frame(stream, V1_MESSAGE_TYPES.request, frame)
        const answer = await readV1Frame(stream, { signal: AbortSignal.timeout(20_000) })
        await stream.close().catch(() => {})
        if (answer.type === V1_MESSAGE_TYPES.error) {
          const e = decodeV1Message(V1_MESSAGE_TYPES.error, answer.data)
          return `error ${e.error_name} ${e.message}`
        }
        return answer.type
      }
      const first = await ask()
      // A restarted seller, or one whose application unregistered/re-registers the resource.
      seller.node.services.x402Server.unregister('job')
      const again = await ask()
      expect(first).toBe(V1_MESSAGE_TYPES.response)
      expect(again).toBe(V1_MESSAGE_TYPES.response)
    } finally {
      await seller.stop()
    }
  })
})
