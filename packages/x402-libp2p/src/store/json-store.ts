import type { AbortOptions } from '@libp2p/interface'
import { type Datastore, Key } from 'interface-datastore'

interface Envelope<T> {
  /** Unix ms after which the entry may be deleted. */
  expiresAt: number
  value: T
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * JSON records with an expiry under one key prefix of a libp2p `Datastore` (LevelDB on disk in a full node), so they
 * survive restarts. Expired entries read as absent and are removed by {@link JsonStore.gc}.
 */
export class JsonStore<T> {
  private readonly datastore: Datastore
  private readonly prefix: string

  constructor(datastore: Datastore, prefix: string) {
    this.datastore = datastore
    this.prefix = prefix
  }

  key(id: string): Key {
    return new Key(`${this.prefix}/${id}`)
  }

  async get(id: string, options: AbortOptions = {}, now = Date.now()): Promise<T | undefined> {
    const key = this.key(id)
    if (!(await this.datastore.has(key, options))) return undefined
    const entry = JSON.parse(decoder.decode(await this.datastore.get(key, options))) as Envelope<T>
    return entry.expiresAt > now ? entry.value : undefined
  }

  /** The raw entry bytes, for batching several writes atomically. */
  encode(value: T, expiresAt: number): Uint8Array {
    return encoder.encode(JSON.stringify({ expiresAt, value } satisfies Envelope<T>))
  }

  async put(id: string, value: T, expiresAt: number, options: AbortOptions = {}): Promise<void> {
    await this.datastore.put(this.key(id), this.encode(value, expiresAt), options)
  }

  async delete(id: string, options: AbortOptions = {}): Promise<void> {
    await this.datastore.delete(this.key(id), options)
  }

  /** Every unexpired entry under the prefix, with its id; unreadable entries are skipped. */
  async *entries(
    options: AbortOptions = {},
    now = Date.now()
  ): AsyncGenerator<{ id: string; value: T; expiresAt: number }> {
    const cut = this.prefix.length + 1
    for await (const { key, value } of this.datastore.query({ prefix: this.prefix }, options)) {
      let entry: Envelope<T>
      try {
        entry = JSON.parse(decoder.decode(value)) as Envelope<T>
      } catch {
        continue
      }
      if (entry.expiresAt > now) yield { id: key.toString().slice(cut), value: entry.value, expiresAt: entry.expiresAt }
    }
  }

  /** Deletes every expired entry; returns how many. */
  async gc(now = Date.now(), options: AbortOptions = {}): Promise<number> {
    let removed = 0
    for await (const { key, value } of this.datastore.query({ prefix: this.prefix }, options)) {
      let expired = true
      try {
        expired = (JSON.parse(decoder.decode(value)) as Envelope<T>).expiresAt <= now
      } catch {
        // unreadable entry: drop it
      }
      if (expired) {
        await this.datastore.delete(key, options)
        removed++
      }
    }
    return removed
  }
}
