import type { AbortOptions } from '@libp2p/interface'
import type { PaymentPayload, PaymentRequirements, SettleResponse } from '@x402/core/types'
import { type Datastore, Key } from 'interface-datastore'
import type { Hex } from 'viem'
import { CORRELATION_ID_PATTERN } from '../constants.ts'
import { CallJournalCorruptError } from '../errors.ts'

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

/** A journal entry as {@link CallJournal.list} returns it: without the request body and the result body. */
export type CallJournalSummary = Omit<CallJournalEntry, 'body' | 'result'> & {
  result?: Omit<NonNullable<CallJournalEntry['result']>, 'body'>
}

/**
 * The buyer's call journal (spec §6.2): each paid call is written before its authorization is signed, with the
 * signed payment before it is sent, and with its outcome on arrival — so a restart loses no result and a resumed call
 * never pays twice.
 */
export interface CallJournal {
  /** The entry of a call; throws `CallJournalCorruptError` when one exists but cannot be read. */
  get(correlationId: string, options?: AbortOptions): Promise<CallJournalEntry | undefined>
  /** Writes an entry (durably: the client signs or sends only after this resolves). */
  put(entry: CallJournalEntry, options?: AbortOptions): Promise<void>
  /** Entries newest first, without bodies (read one with `get` for them). */
  list(query?: CallJournalQuery): Promise<CallJournalSummary[]>
  /**
   * The call a refund transaction was recorded for (an entry whose `refund.transaction` it is), if any: one transfer
   * back refunds one call, also across restarts.
   */
  refundUsedBy?(transaction: string, options?: AbortOptions): Promise<string | undefined>
}

const PREFIX = '/betar/x402/journal'
const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** `createdAt` as a fixed-width key segment, so the time index sorts by key. */
const timeSegment = (ms: number): string => Math.max(0, Math.floor(ms)).toString().padStart(15, '0')

/**
 * A {@link CallJournal} in a libp2p `Datastore` (the node's LevelDB in a full node), under `/betar/x402/journal`: the
 * entry (small), its request and result bodies apart (up to the body and result limits), and a time index, so a
 * history page reads only the entries it returns whatever the journal's size. Entries are kept until the application
 * deletes them.
 */
export function datastoreCallJournal(datastore: Datastore): CallJournal {
  const check = (correlationId: string): string => {
    if (!CORRELATION_ID_PATTERN.test(correlationId)) throw new RangeError('correlation ids are 1–64 of [A-Za-z0-9_-]')
    return correlationId
  }
  const entryKey = (id: string) => new Key(`${PREFIX}/calls/${check(id)}`)
  const bodyKey = (id: string) => new Key(`${PREFIX}/body/${check(id)}`)
  const resultKey = (id: string) => new Key(`${PREFIX}/result/${check(id)}`)
  const timePrefix = `${PREFIX}/time`
  const timeKey = (createdAt: number, id: string) => new Key(`${timePrefix}/${timeSegment(createdAt)}/${check(id)}`)
  const refundKey = (transaction: string) =>
    new Key(`${PREFIX}/refund/${transaction.toLowerCase().replace(/[^0-9a-fx]/g, '')}`)

  const read = async (key: Key, options: AbortOptions): Promise<Uint8Array | undefined> =>
    (await datastore.has(key, options)) ? datastore.get(key, options) : undefined
  /** The entry of `id`; throws {@link CallJournalCorruptError} when one exists but cannot be read. */
  const summary = async (id: string, options: AbortOptions): Promise<CallJournalSummary | undefined> => {
    const bytes = await read(entryKey(id), options)
    if (bytes == null) return undefined
    let value: CallJournalSummary
    try {
      value = JSON.parse(decoder.decode(bytes)) as CallJournalSummary
    } catch (cause) {
      throw new CallJournalCorruptError(id, { cause })
    }
    if (typeof value?.correlationId !== 'string' || typeof value.state !== 'string')
      throw new CallJournalCorruptError(id)
    return value
  }

  return {
    async get(correlationId, options = {}) {
      const found = await summary(correlationId, options)
      if (found == null) return undefined
      const { result: stored, ...entry } = found
      const body = await read(bodyKey(correlationId), options)
      const result = stored != null ? await read(resultKey(correlationId), options) : undefined
      return {
        ...entry,
        body: body != null ? decoder.decode(body) : '',
        ...(stored != null
          ? { result: { contentType: stored.contentType, body: result != null ? decoder.decode(result) : '' } }
          : {})
      }
    },
    async put(entry, options = {}) {
      const { body, result, ...rest } = entry
      const small: CallJournalSummary = {
        ...rest,
        ...(result != null ? { result: { contentType: result.contentType } } : {})
      }
      const batch = datastore.batch()
      // The request body and the time index never change: written with the first entry only.
      if (!(await datastore.has(bodyKey(entry.correlationId), options))) {
        batch.put(bodyKey(entry.correlationId), encoder.encode(body))
        batch.put(timeKey(entry.createdAt, entry.correlationId), new Uint8Array(0))
      }
      if (result != null) batch.put(resultKey(entry.correlationId), encoder.encode(result.body))
      if (entry.refund != null) batch.put(refundKey(entry.refund.transaction), encoder.encode(entry.correlationId))
      batch.put(entryKey(entry.correlationId), encoder.encode(JSON.stringify(small)))
      await batch.commit(options)
    },
    async refundUsedBy(transaction, options = {}) {
      const bytes = await read(refundKey(transaction), options)
      return bytes != null ? decoder.decode(bytes) : undefined
    },
    async list(query = {}) {
      const states = query.states != null ? new Set(query.states) : undefined
      const limit = query.limit ?? 100
      const keys: string[] = []
      for await (const key of datastore.queryKeys({ prefix: timePrefix }, query)) keys.push(key.toString())
      keys.sort().reverse()
      const cut = timePrefix.length + 1
      const found: CallJournalSummary[] = []
      for (const key of keys) {
        if (found.length >= limit) break
        const [time = '', id = ''] = key.slice(cut).split('/')
        if (query.before != null && Number(time) >= query.before) continue
        // An unreadable entry is skipped in a listing; reading it by id throws.
        const entry = await summary(id, query).catch(() => undefined)
        if (entry == null || (states != null && !states.has(entry.state))) continue
        found.push(entry)
      }
      return found
    }
  }
}
