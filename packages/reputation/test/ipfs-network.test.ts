import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHeliaNode, type HeliaNode } from '../../identity/test/fixtures/helia.ts'
import { decodeFeedbackFile, encodeFeedbackFile, feedbackHash, ipfsFeedbackStorage } from '../src/index.ts'

describe('feedback files on IPFS, fetched by another node over bitswap', () => {
  let writer: HeliaNode
  let reader: HeliaNode

  beforeAll(async () => {
    ;[writer, reader] = await Promise.all([createHeliaNode(), createHeliaNode()])
    await reader.libp2p.dial(writer.libp2p.getMultiaddrs())
  })
  afterAll(async () => {
    await Promise.all([writer?.stop(), reader?.stop()])
  })

  it('stores the exact bytes (so feedbackHash holds) and a peer reads them back by CID', async () => {
    const file = {
      agentRegistry: 'eip155:31337:0x5FbDB2315678afecb367f032d93F642f64180aa3',
      agentId: 7,
      clientAddress: 'eip155:31337:0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      createdAt: '2026-11-23T00:00:00.000Z',
      value: 90,
      valueDecimals: 0,
      tag1: 'starred',
      proofOfPayment: {
        fromAddress: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
        toAddress: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
        chainId: 31337,
        txHash: `0x${'ab'.repeat(32)}`,
        amount: '10000',
        asset: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
        correlationId: 'c-1'
      }
    }
    const bytes = encodeFeedbackFile(decodeFeedbackFile(new TextEncoder().encode(JSON.stringify(file))))
    const uri = await ipfsFeedbackStorage(writer.blockstore).store(bytes)
    expect(uri).toMatch(/^ipfs:\/\/bafk/)

    const fetched = await ipfsFeedbackStorage(reader.blockstore).load(uri, { signal: AbortSignal.timeout(10_000) })
    expect(fetched).toEqual(bytes)
    expect(feedbackHash(fetched)).toBe(feedbackHash(bytes))
    expect(decodeFeedbackFile(fetched).proofOfPayment?.txHash).toBe(file.proofOfPayment.txHash)
  })
})
