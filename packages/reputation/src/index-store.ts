import type { Datastore } from 'interface-datastore'
import { Key } from 'interface-datastore'
import { type Address, getAddress, type Hash, type Hex } from 'viem'
import type { FeedbackRecord, PartyRole } from './records.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

interface StoredFeedback {
  agentId: string
  clientAddress: Address
  feedbackIndex: string
  value: string
  valueDecimals: number
  tag1: string
  tag2: string
  endpoint: string
  feedbackURI: string
  feedbackHash: Hex
  blockNumber: string
  logIndex: number
  transactionHash: Hash
  timestamp: number
}

/** A write to the index, applied atomically with the cursor by {@link IndexStore.commit}. */
export type IndexWrite =
  | { type: 'feedback'; record: Omit<FeedbackRecord, 'revoked'> }
  | { type: 'revoked'; agentId: bigint; clientAddress: Address; feedbackIndex: bigint; blockNumber: bigint }
  | { type: 'party'; agentId: bigint; role: Exclude<PartyRole, 'operator'>; address: Address; blockNumber: bigint }
  | { type: 'operator'; owner: Address; operator: Address; blockNumber: bigint }

/**
 * The persisted event index of one (chain, Identity Registry, Reputation Registry) triple in an
 * `interface-datastore` `Datastore` (LevelDB in the node, memory in tests). Keys live under
 * `/betar-reputation/<chainId>/<reputationRegistry>/<identityRegistry>/`.
 */
export class IndexStore {
  readonly #ds: Datastore
  readonly #prefix: string

  constructor(
    datastore: Datastore,
    scope: { chainId: number; reputationRegistry: Address; identityRegistry: Address }
  ) {
    this.#ds = datastore
    this.#prefix = `/betar-reputation/${scope.chainId}/${scope.reputationRegistry.toLowerCase()}/${scope.identityRegistry.toLowerCase()}`
  }

  #key(...parts: Array<string | bigint>): Key {
    return new Key(`${this.#prefix}/${parts.map(String).join('/')}`)
  }

  /** The last fully indexed block, or `undefined` before the first sync. */
  async cursor(options: { signal?: AbortSignal } = {}): Promise<bigint | undefined> {
    const key = this.#key('cursor')
    if (!(await this.#ds.has(key, options))) return undefined
    return BigInt(dec.decode(await this.#ds.get(key, options)))
  }

  /** Applies `writes` and moves the cursor to `toBlock` in one datastore batch. */
  async commit(writes: readonly IndexWrite[], toBlock: bigint, options: { signal?: AbortSignal } = {}): Promise<void> {
    const batch = this.#ds.batch()
    for (const w of writes) {
      switch (w.type) {
        case 'feedback': {
          const r = w.record
          const stored: StoredFeedback = {
            agentId: r.agentId.toString(),
            clientAddress: r.clientAddress,
            feedbackIndex: r.feedbackIndex.toString(),
            value: r.value.toString(),
            valueDecimals: r.valueDecimals,
            tag1: r.tag1,
            tag2: r.tag2,
            endpoint: r.endpoint,
            feedbackURI: r.feedbackURI,
            feedbackHash: r.feedbackHash,
            blockNumber: r.blockNumber.toString(),
            logIndex: r.logIndex,
            transactionHash: r.transactionHash,
            timestamp: r.timestamp
          }
          batch.put(
            this.#key('feedback', r.agentId, r.clientAddress.toLowerCase(), r.feedbackIndex),
            enc.encode(JSON.stringify(stored))
          )
          break
        }
        case 'revoked':
          batch.put(
            this.#key('revoked', w.agentId, w.clientAddress.toLowerCase(), w.feedbackIndex),
            enc.encode(w.blockNumber.toString())
          )
          break
        case 'party':
          batch.put(
            this.#key('party', w.agentId, w.role, w.address.toLowerCase()),
            enc.encode(w.blockNumber.toString())
          )
          break
        case 'operator':
          batch.put(
            this.#key('operator', w.owner.toLowerCase(), w.operator.toLowerCase()),
            enc.encode(w.blockNumber.toString())
          )
          break
      }
    }
    batch.put(this.#key('cursor'), enc.encode(toBlock.toString()))
    await batch.commit(options)
  }

  /** Every indexed feedback of `agentId`, in chain order, with its revocation state. */
  async feedback(agentId: bigint, options: { signal?: AbortSignal } = {}): Promise<FeedbackRecord[]> {
    const revoked = new Set<string>()
    const revokedPrefix = `${this.#prefix}/revoked/${agentId}/`
    for await (const { key } of this.#ds.query({ prefix: revokedPrefix }, options)) {
      revoked.add(key.toString().slice(revokedPrefix.length))
    }
    const prefix = `${this.#prefix}/feedback/${agentId}/`
    const out: FeedbackRecord[] = []
    for await (const { key, value } of this.#ds.query({ prefix }, options)) {
      const s = JSON.parse(dec.decode(value)) as StoredFeedback
      out.push({
        agentId: BigInt(s.agentId),
        clientAddress: getAddress(s.clientAddress),
        feedbackIndex: BigInt(s.feedbackIndex),
        value: BigInt(s.value),
        valueDecimals: s.valueDecimals,
        tag1: s.tag1,
        tag2: s.tag2,
        endpoint: s.endpoint,
        feedbackURI: s.feedbackURI,
        feedbackHash: s.feedbackHash,
        blockNumber: BigInt(s.blockNumber),
        logIndex: s.logIndex,
        transactionHash: s.transactionHash,
        timestamp: s.timestamp,
        revoked: revoked.has(key.toString().slice(prefix.length))
      })
    }
    return out.sort((a, b) =>
      a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1
    )
  }

  /**
   * Every address that has ever owned, been approved for, or been the `agentWallet` of `agentId`, plus every
   * `ApprovalForAll` operator of any of its owners.
   */
  async parties(agentId: bigint, options: { signal?: AbortSignal } = {}): Promise<Map<Address, Set<PartyRole>>> {
    const out = new Map<Address, Set<PartyRole>>()
    const add = (address: string, role: PartyRole): void => {
      const a = getAddress(address)
      const roles = out.get(a) ?? new Set<PartyRole>()
      roles.add(role)
      out.set(a, roles)
    }
    const prefix = `${this.#prefix}/party/${agentId}/`
    const owners: string[] = []
    for await (const { key } of this.#ds.query({ prefix }, options)) {
      const [role, address] = key.toString().slice(prefix.length).split('/')
      if (role == null || address == null) continue
      add(address, role as PartyRole)
      if (role === 'owner') owners.push(address)
    }
    for (const owner of owners) {
      const opPrefix = `${this.#prefix}/operator/${owner}/`
      for await (const { key } of this.#ds.query({ prefix: opPrefix }, options)) {
        add(key.toString().slice(opPrefix.length), 'operator')
      }
    }
    return out
  }
}
