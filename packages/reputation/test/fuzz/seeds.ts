import { type Address, encodeAbiParameters, type Hash, keccak256, pad, toHex } from 'viem'
import { encodeFeedbackFile, feedbackHash } from '../../src/feedback-file.ts'
import { buildFeedbackFile } from '../../src/give-feedback.ts'
import type { FeedbackRecord } from '../../src/records.ts'

/** A paid job's feedback and the chain it is checked against (one fake USDC transfer behind every transaction). */

export const CHAIN_ID = 31337
export const identityRegistry: Address = '0x8004A818BFB912233c491871b3d84c89A494BD9e'
export const asset: Address = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
export const client: Address = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
export const payee: Address = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
export const PAID = 10_000n
export const txHash: Hash = `0x${'ab'.repeat(32)}`

const file = buildFeedbackFile(
  {
    agentRegistry: `eip155:${CHAIN_ID}:${identityRegistry}`,
    agentId: 7n,
    value: 95,
    valueDecimals: 0,
    tag2: 'text-stats',
    endpoint: 'libp2p://12D3KooW/text-stats',
    proof: {
      fromAddress: client,
      toAddress: payee,
      chainId: CHAIN_ID,
      txHash,
      amount: PAID.toString(),
      asset,
      correlationId: 'call-1'
    },
    now: () => 1_800_000_000_000
  },
  CHAIN_ID,
  client
)

export const fileSeed = encodeFeedbackFile(file)

/** The NewFeedback event the file belongs to (its hash filled in per input). */
export function recordFor(bytes: Uint8Array, feedbackURI: string): FeedbackRecord {
  return {
    agentId: 7n,
    clientAddress: client,
    feedbackIndex: 1n,
    value: 95n,
    valueDecimals: 0,
    tag1: 'starred',
    tag2: 'text-stats',
    endpoint: '',
    feedbackURI,
    feedbackHash: feedbackHash(bytes),
    blockNumber: 100n,
    logIndex: 0,
    transactionHash: `0x${'cd'.repeat(32)}`,
    timestamp: 1_800_000_000,
    revoked: false
  }
}

const TRANSFER = keccak256(new TextEncoder().encode('Transfer(address,address,uint256)'))

/** A receipt holding one USDC transfer of {@link PAID} from the client to the payee, mined at block 90. */
export const receipt = {
  status: 'success',
  blockNumber: 90n,
  logs: [
    {
      address: asset,
      topics: [TRANSFER, pad(client), pad(payee)],
      data: encodeAbiParameters([{ type: 'uint256' }], [PAID]),
      blockNumber: 90n,
      logIndex: 0,
      transactionHash: txHash,
      transactionIndex: 0,
      blockHash: toHex(1, { size: 32 }),
      removed: false
    }
  ]
}
