import type { AbortOptions } from '@libp2p/interface'
import type { PaymentPayload, PaymentRequirements, SettleResponse } from '@x402/core/types'
import { type Datastore, Key } from 'interface-datastore'
import type { Hex } from 'viem'
import { CORRELATION_ID_PATTERN } from '../constants.ts'

/**
 * Where a journaled call stands, for the buyer:
 * - `prepared`: the price, payee and authorization nonce were approved and written; nothing is signed yet;
 * - `sent`: the signed payment is stored and was (or was about to be) sent — its outcome is not known yet, so the call
 *   can be re-asked with the same payment ({@link X402Client.resume});
 * - `done`: the result is stored (terminal);
 * - `refunded`: the seller's handler failed and the payment came back (terminal);
 * - `failed`: it ended without a result (terminal) — `charged` says whether money moved without coming back.
 */
export type CallJournalState = 'prepared' | 'sent' | 'done' | 'refunded' | 'failed'

/** One call as the buyer journals it (spec §6.2). Amounts are atomic token units (USDC: 6 decimals), as strings. */
export interface CallJournalEntry {
  /** Chosen by the buyer; names the call towards the seller and in the journal. */
  correlationId: string
  /** The seller's peer id. */
  peer: string
  /** Addresses the seller was dialled at; a re-ask after a restart dials them. */
  addresses: string[]
  resource: string
  /** Request body, base64. */
  body: string
  contentType: string
  /** What the seller asked and the buyer approved (price `amount`, payee `payTo`, `asset`, `network`). */
  requirements?: PaymentRequirements
  /** The EIP-3009 authorization nonce (the seller's challenge, or the buyer's own for a one-trip call). */
  nonce?: Hex
  /** The signed x402 PaymentPayload, stored before the PAID_REQUEST is sent: a re-ask re-sends exactly it. */
  payment?: PaymentPayload
  state: CallJournalState
  /** `failed` only: whether the payment moved without a result or refund (e.g. `PaymentTakenError`). */
  charged?: boolean
  /** Once `done`: the result body (base64) and its content type. */
  result?: { body: string; contentType: string }
  /** Once `done`: the settlement, and how the buyer checked it on-chain. */
  settlement?: SettleResponse
  settlementCheck?: 'verified' | 'unconfirmed' | 'unchecked'
  /** Once `refunded`: the refund transfer, its amount and how it was checked. */
  refund?: { transaction: string; amount: string; check: 'verified' | 'unconfirmed' | 'unchecked' }
  /** Once `failed` or `refunded`: the error the call ended with (`code`: the x402 code when there is one). */
  error?: { name: string; code?: number; message: string }
  /** The application's own data about the call (e.g. the listing it came from). */
  metadata?: Record<string, unknown>
  /** Unix ms. */
  createdAt: number
  /** Unix ms. */
  updatedAt: number
}

/** Options of {@link CallJournal.list}. */
export interface CallJournalQuery extends AbortOptions {
  /** Only calls in these states. */
  states?: readonly CallJournalState[]
  /** Newest first; at most this many. @default 100 */
  limit?: number
  /** Only calls created before this (Unix ms): the cursor for the next page. */
  before?: number
}

/**
 * The buyer's call journal (spec §6.2): each paid call is written before its authorization is signed, with the
 * signed payment before it is sent, and with its outcome on arrival — so a restart loses no result and a resumed call
 * never pays twice.
 */
export interface CallJournal {
  get(correlationId: string, options?: AbortOptions): Promise<CallJournalEntry | undefined>
  /** Writes an entry (durably: the client signs or sends only after this resolves). */
  put(entry: CallJournalEntry, options?: AbortOptions): Promise<void>
  /** Entries, newest first. */
  list(query?: CallJournalQuery): Promise<CallJournalEntry[]>
}

const PREFIX = '/betar/x402/journal'
const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * A {@link CallJournal} in a libp2p `Datastore` (the node's LevelDB in a full node), under `/betar/x402/journal`.
 * Entries are kept until deleted by the application.
 */
export function datastoreCallJournal(datastore: Datastore): CallJournal {
  const keyOf = (correlationId: string): Key => {
    if (!CORRELATION_ID_PATTERN.test(correlationId)) throw new RangeError('correlation ids are 1–64 of [A-Za-z0-9_-]')
    return new Key(`${PREFIX}/${correlationId}`)
  }
  const parse = (bytes: Uint8Array): CallJournalEntry | undefined => {
    try {
      const value = JSON.parse(decoder.decode(bytes)) as CallJournalEntry
      return typeof value?.correlationId === 'string' && typeof value.state === 'string' ? value : undefined
    } catch {
      return undefined
    }
  }
  return {
    async get(correlationId, options = {}) {
      const key = keyOf(correlationId)
      if (!(await datastore.has(key, options))) return undefined
      return parse(await datastore.get(key, options))
    },
    async put(entry, options = {}) {
      await datastore.put(keyOf(entry.correlationId), encoder.encode(JSON.stringify(entry)), options)
    },
    async list(query = {}) {
      const states = query.states != null ? new Set(query.states) : undefined
      const limit = query.limit ?? 100
      const found: CallJournalEntry[] = []
      for await (const { value } of datastore.query({ prefix: PREFIX }, query)) {
        const entry = parse(value)
        if (entry == null) continue
        if (states != null && !states.has(entry.state)) continue
        if (query.before != null && entry.createdAt >= query.before) continue
        found.push(entry)
      }
      return found.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit)
    }
  }
}
