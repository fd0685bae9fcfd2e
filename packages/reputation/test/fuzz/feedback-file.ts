import { exceedsValueDepth } from '@betar/bounded-json'
import { attempt, type FuzzTarget, typedBy } from '@betar/fuzz'
import { isAddressEqual, type PublicClient, TransactionReceiptNotFoundError } from 'viem'
import { toDataUri, withDataUriSupport } from '../../src/data-uri.ts'
import { decodeFeedbackFile } from '../../src/feedback-file.ts'
import { type PaymentVerification, verifyPayment } from '../../src/verify.ts'
import {
  asset,
  CHAIN_ID,
  client,
  fileSeed,
  identityRegistry,
  PAID,
  payee,
  receipt,
  recordFor,
  txHash
} from './seeds.ts'

/** A chain that knows one transaction (hashes are case-insensitive, as an RPC reads them). */
const publicClient = {
  getTransactionReceipt: async ({ hash }: { hash: `0x${string}` }) => {
    if (hash.toLowerCase() !== txHash) throw new TransactionReceiptNotFoundError({ hash })
    return receipt
  }
} as unknown as PublicClient

/** A verified payment, checked again field by field against the event and the chain it was checked on. */
function violation(v: PaymentVerification): string | undefined {
  if (!v.ok) return undefined
  const f = v.file
  const proof = f.proofOfPayment
  if (BigInt(f.agentId) !== 7n || BigInt(f.value) !== 95n || f.valueDecimals !== 0) return 'file differs from the event'
  if (f.agentRegistry.toLowerCase() !== `eip155:${CHAIN_ID}:${identityRegistry}`.toLowerCase()) return 'registry'
  if (f.clientAddress.toLowerCase() !== `eip155:${CHAIN_ID}:${client}`.toLowerCase()) return 'client'
  if (proof == null || proof.chainId !== CHAIN_ID) return 'proof chain'
  if (
    !isAddressEqual(proof.asset as `0x${string}`, asset) ||
    !isAddressEqual(proof.fromAddress as `0x${string}`, client)
  )
    return 'proof asset or payer'
  if (!isAddressEqual(proof.toAddress as `0x${string}`, payee)) return 'proof payee'
  if (proof.txHash.toLowerCase() !== txHash || v.txHash.toLowerCase() !== txHash) return 'transaction'
  if (v.paid !== PAID) return 'amount paid'
  if (exceedsValueDepth(f, 64)) return 'nests deeper than the bound'
  JSON.stringify(f) // shown and stored again: must re-encode
  return undefined
}

/**
 * A feedback file as a scorer reads it (`decodeFeedbackFile`, then `verifyPayment` against its event and a chain that
 * holds one matching transfer), loaded from a `data:` URI or through the loader.
 */
export const feedbackFile: FuzzTarget = {
  name: 'reputation-feedback-file',
  cost: 'heavy',
  formats: ['json'],
  maxLength: 80 * 1024,
  seeds: () => [fileSeed],
  async run(input) {
    attempt(() => decodeFeedbackFile(input), typedBy('FeedbackFileError'))
    const uri = (input[input.byteLength - 1] ?? 0) % 2 === 0 ? toDataUri(input) : 'ipfs://bafkfile'
    return verifyPayment(recordFor(input, uri), {
      publicClient,
      load: withDataUriSupport(async () => input),
      chainId: CHAIN_ID,
      identityRegistry,
      asset,
      payees: [payee],
      minPayment: 1_000n,
      receipts: new Map()
    })
  },
  isTyped: () => false,
  check: (_, v) => violation(v as PaymentVerification)
}
