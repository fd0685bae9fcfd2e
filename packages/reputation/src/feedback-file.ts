import { JsonLimitError, parseBoundedJson } from '@betar/bounded-json'
import { type Address, getAddress, type Hex, isAddress, isHex, keccak256 } from 'viem'
import { z } from 'zod'
import { FeedbackFileError } from './errors.ts'

const address = z.string().refine((s) => isAddress(s, { strict: false }), 'not an EVM address')
const caip10 = z.string().regex(/^eip155:\d+:0x[0-9a-fA-F]{40}$/, 'not a CAIP-10 eip155 account')
const uintString = z.string().regex(/^\d+$/, 'not a non-negative integer string')

/** The x402 settlement that backs a feedback: an ERC-20 transfer from the client to the agent. */
export const proofOfPaymentSchema = z.looseObject({
  /** The payer: must equal the feedback's client address. */
  fromAddress: address,
  /** The payee: the agent's wallet (or owner when no wallet is set). */
  toAddress: address,
  chainId: z.number().int().positive(),
  /** The settlement transaction (e.g. the facilitator's `transferWithAuthorization`). */
  txHash: z.string().refine((s) => isHex(s) && s.length === 66, 'not a 32-byte tx hash'),
  /** Amount in the asset's base units, as a decimal string. */
  amount: uintString,
  /** The ERC-20 token contract (e.g. USDC). */
  asset: address,
  /** The x402 correlation id of the paid job. */
  correlationId: z.string().min(1)
})

/** Proof of payment as stored in a feedback file. */
export type ProofOfPayment = z.infer<typeof proofOfPaymentSchema>

/**
 * The ERC-8004 off-chain feedback file (2026-01-25 draft) with Betar's `proofOfPayment`. Unknown fields are kept.
 */
export const feedbackFileSchema = z.looseObject({
  /** `eip155:<chainId>:<identityRegistry>` */
  agentRegistry: caip10,
  agentId: z.union([z.number().int().nonnegative(), uintString]),
  /** CAIP-10 `eip155:<chainId>:<clientAddress>` */
  clientAddress: caip10,
  createdAt: z.iso.datetime({ offset: true }),
  value: z.union([z.number().int(), z.string().regex(/^-?\d+$/)]),
  valueDecimals: z.number().int().min(0).max(18),
  tag1: z.string().optional(),
  tag2: z.string().optional(),
  endpoint: z.string().optional(),
  proofOfPayment: proofOfPaymentSchema.optional()
})

/** A parsed feedback file. */
export type FeedbackFile = z.infer<typeof feedbackFileSchema>

/** `eip155:<chainId>:<address>` (CAIP-10 account or an ERC-8004 `agentRegistry`). */
export function caip10Account(chainId: number, account: Address): `eip155:${number}:${Address}` {
  return `eip155:${chainId}:${getAddress(account)}`
}

/** Splits a CAIP-10 `eip155:<chainId>:<address>` string. */
export function parseCaip10(value: string): { chainId: number; address: Address } {
  const match = /^eip155:(\d+):(0x[0-9a-fA-F]{40})$/.exec(value)
  if (match == null) throw new FeedbackFileError(`Not a CAIP-10 eip155 account: ${value}`)
  return { chainId: Number(match[1]), address: getAddress(match[2] as Address) }
}

/** Serializes a feedback file to the exact bytes that are stored and hashed (UTF-8 JSON). */
export function encodeFeedbackFile(file: FeedbackFile): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(file))
}

/**
 * Largest feedback file read, in bytes. A Betar file is about 600 bytes; the ERC-8004 draft sets no bound, and the
 * files come from anyone who can write a feedback event.
 */
export const MAX_FEEDBACK_FILE_BYTES = 64 * 1024

/**
 * Deepest nesting of arrays and objects in a feedback file: unknown fields are kept and encoded again, and
 * `JSON.stringify` overflows the stack near 4,000 levels (issue 13).
 */
export const MAX_FEEDBACK_FILE_DEPTH = 64

/**
 * Parses and validates stored feedback-file bytes, bounded to {@link MAX_FEEDBACK_FILE_BYTES} and
 * {@link MAX_FEEDBACK_FILE_DEPTH} before parsing. Throws {@link FeedbackFileError}.
 */
export function decodeFeedbackFile(bytes: Uint8Array): FeedbackFile {
  let json: unknown
  try {
    json = parseBoundedJson(bytes, { maxBytes: MAX_FEEDBACK_FILE_BYTES, maxDepth: MAX_FEEDBACK_FILE_DEPTH })
  } catch (cause) {
    const reason = cause instanceof JsonLimitError ? cause.reason : 'syntax'
    const message =
      reason === 'size'
        ? `Feedback file is over ${MAX_FEEDBACK_FILE_BYTES} bytes`
        : reason === 'depth'
          ? `Feedback file nests more than ${MAX_FEEDBACK_FILE_DEPTH} levels deep`
          : 'Feedback file is not UTF-8 JSON'
    throw new FeedbackFileError(message, { cause })
  }
  const result = feedbackFileSchema.safeParse(json)
  if (!result.success) {
    throw new FeedbackFileError('Feedback file does not match the ERC-8004 schema', {
      cause: result.error,
      details: z.prettifyError(result.error)
    })
  }
  return result.data
}

/** The ERC-8004 `feedbackHash`: keccak256 of the exact stored bytes. */
export function feedbackHash(bytes: Uint8Array): Hex {
  return keccak256(bytes)
}
