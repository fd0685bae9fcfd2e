import type { Address, Client, NonceManager } from 'viem'
import { getTransactionCount } from 'viem/actions'

interface AccountNonces {
  /** Next nonce never handed out; `undefined` until read from the chain. */
  next: number | undefined
  /** Handed out but known never to have reached a node: handed out again first (lowest first). */
  released: number[]
  /** Re-read the pending count on the next allocation. */
  stale: boolean
  /** Handed out to a write that failed after it may have been broadcast: freed only if the node does not hold them. */
  suspects: number[]
  /** The read in progress, shared by concurrent allocations. */
  reading: Promise<number> | undefined
}

/**
 * Hands out the transaction nonces of the accounts a node sends from, to the settler and to every other writer that
 * shares the account — through viem's `NonceManager` interface, so any viem write whose account carries it
 * (`privateKeyToAccount(key, { nonceManager })`) draws from the same counter and never collides with a settlement.
 *
 * Written here rather than taken from viem because viem's `createNonceManager` re-reads the pending transaction count
 * for every transaction (one RPC each) and cannot take back a nonce that was handed out but never broadcast; this one
 * counts locally, re-reads the chain only after a reset or a refusal, never goes below a nonce a stored transaction
 * holds ({@link observe}), and reuses released nonces first so no gap is left behind.
 */
export class SettlementNonceManager implements NonceManager {
  private readonly accounts = new Map<string, AccountNonces>()

  private state(address: Address, chainId: number): AccountNonces {
    const key = `${address.toLowerCase()}.${chainId}`
    let s = this.accounts.get(key)
    if (s == null) {
      s = { next: undefined, released: [], stale: true, reading: undefined, suspects: [] }
      this.accounts.set(key, s)
    }
    return s
  }

  private async sync(s: AccountNonces, address: Address, client: Client): Promise<void> {
    if (!s.stale && s.next != null) return
    s.reading ??= getTransactionCount(client, { address, blockTag: 'pending' }).finally(() => {
      s.reading = undefined
    })
    const pending = await s.reading
    s.next = Math.max(s.next ?? 0, pending)
    // A suspect at or above the pending count never reached the pool: hand it out again to close the gap.
    for (const n of s.suspects.splice(0)) if (n >= pending && n < s.next && !s.released.includes(n)) s.released.push(n)
    s.released = s.released.filter((n) => n >= pending).sort((a, b) => a - b)
    s.stale = false
  }

  /**
   * The nonce for a new transaction of `address`: a released one if any (lowest first), otherwise the next one.
   * Reads the account's pending transaction count (one RPC) the first time and after {@link resync}.
   */
  async allocate(parameters: { address: Address; chainId: number; client: Client }): Promise<number> {
    const s = this.state(parameters.address, parameters.chainId)
    await this.sync(s, parameters.address, parameters.client)
    const reused = s.released.shift()
    if (reused != null) return reused
    const nonce = s.next ?? 0
    s.next = nonce + 1
    return nonce
  }

  /** `nonce` was handed out but its transaction never reached a node: hand it out again. */
  release(parameters: { address: Address; chainId: number; nonce: number }): void {
    const s = this.state(parameters.address, parameters.chainId)
    if (s.next != null && parameters.nonce >= s.next) return
    if (!s.released.includes(parameters.nonce)) {
      s.released.push(parameters.nonce)
      s.released.sort((a, b) => a - b)
    }
  }

  /** A stored transaction holds `nonce` (e.g. found after a restart): never hand it out again. */
  observe(parameters: { address: Address; chainId: number; nonce: number }): void {
    const s = this.state(parameters.address, parameters.chainId)
    s.released = s.released.filter((n) => n !== parameters.nonce)
    if (s.next == null || s.next <= parameters.nonce) s.next = parameters.nonce + 1
  }

  /** Re-read the chain's pending count before the next allocation (after a "nonce too low" refusal). */
  resync(parameters: { address: Address; chainId: number }): void {
    this.state(parameters.address, parameters.chainId).stale = true
  }

  // viem's NonceManager interface — https://viem.sh/docs/accounts/local/createNonceManager

  /** viem: get and increment. */
  consume(parameters: { address: Address; chainId: number; client: Client }): Promise<number> {
    return this.allocate(parameters)
  }

  /** viem: increment without reading. */
  increment(parameters: { address: Address; chainId: number }): void {
    const s = this.state(parameters.address, parameters.chainId)
    if (s.next != null) s.next++
  }

  /** viem: the nonce the next allocation would return. */
  async get(parameters: { address: Address; chainId: number; client: Client }): Promise<number> {
    const s = this.state(parameters.address, parameters.chainId)
    await this.sync(s, parameters.address, parameters.client)
    return s.released[0] ?? s.next ?? 0
  }

  /**
   * viem calls this when a write fails after it consumed `nonce`. Whether that transaction reached a node is unknown
   * (its answer may have been lost), so the nonce is not simply handed out again — a settlement at that nonce could
   * replace the write. The next allocation re-reads the pending count and frees the nonce only if the node holds no
   * transaction there.
   */
  reset(parameters: { address: Address; chainId: number; nonce?: number | undefined }): void {
    const s = this.state(parameters.address, parameters.chainId)
    if (parameters.nonce != null) s.suspects.push(parameters.nonce)
    s.stale = true
  }
}
