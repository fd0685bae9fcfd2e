import { MemoryDatastore } from 'datastore-core'
import type { Datastore, Key } from 'interface-datastore'

/**
 * A memory datastore with hooks before single puts and deletes — a slow disk, or a process that dies mid-write (a hook
 * that never resolves: nothing after it reaches the "disk"). Batches go through the same puts and deletes, in order
 * (puts first), as `MemoryDatastore`'s batches do.
 */
export class HookedDatastore extends MemoryDatastore {
  onPut: ((key: Key) => Promise<void>) | undefined
  onDelete: ((key: Key) => Promise<void>) | undefined

  override async put(key: Key, val: Uint8Array, options?: unknown): Promise<Key> {
    await this.onPut?.(key)
    return super.put(key, val, options as never)
  }

  override async delete(key: Key, options?: unknown): Promise<void> {
    await this.onDelete?.(key)
    super.delete(key, options as never)
  }
}

/** What reached the disk: a copy of `source`, for a node restarted after a `kill -9`. */
export async function copyOf(source: Datastore): Promise<MemoryDatastore> {
  const copy = new MemoryDatastore()
  for await (const { key, value } of source.query({})) copy.put(key, value)
  return copy
}

/** A hook that never returns: the process dies there. */
export const dies = (): Promise<void> => new Promise<void>(() => {})
